"""The ledger entry and its canonical bytes, defined once: what is hashed is what is published.

An entry's leaf input is the RFC 8785 (JCS) canonical JSON of the entry: keys sorted, no
whitespace, integers only. Every string is printable ASCII, so JCS coincides with
``json.dumps(sort_keys=True, separators=(",", ":"))`` and holds no raw newline (bundles rely on
that). Decoding re-encodes and insists on the same bytes, so one entry has one encoding.
See docs/ledger.md for the field-by-field description.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from trusthub.registry.agreement_rules import LawfulBasis as LawfulBasis

ENTRY_VERSION = 1

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}")
_PURPOSE = re.compile(r"[a-z][a-z0-9_]{1,63}")
_REASON = re.compile(r"[\x20-\x7e]{1,200}")
_ENTRY_ID = re.compile(r"[0-9a-f]{32}")
_HASH_HEX = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
MAX_FIELDS = 512
MAX_REASONS = 16
MAX_SAFE_INTEGER = 2**53 - 1

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


class EntryError(ValueError):
    """An entry breaks the encoding's rules; the message names the field, never its value."""


class Outcome(StrEnum):
    PERMIT = "permit"
    REFUSE = "refuse"


def _check(pattern: re.Pattern[str], value: object, name: str) -> None:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise EntryError(f"{name} is not well formed")


def _check_list(pattern: re.Pattern[str], values: object, name: str, limit: int) -> None:
    if not isinstance(values, tuple) or len(values) > limit:
        raise EntryError(f"{name} must be a list of at most {limit} items")
    for value in values:
        _check(pattern, value, name)


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise EntryError("time must carry a time zone")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: object) -> datetime:
    _check(_TIME, text, "time")
    return datetime.fromisoformat(str(text)[:-1]).replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RecordsSummary:
    """A bulk entry's commitment to its per-citizen records: an RFC 9162 root and a count."""

    count: int
    root: str

    def __post_init__(self) -> None:
        if not isinstance(self.count, int) or not 0 < self.count <= MAX_SAFE_INTEGER:
            raise EntryError("records.count must be a positive integer")
        _check(_HASH_HEX, self.root, "records.root")


@dataclass(frozen=True, slots=True)
class Entry:
    """One decision as it is published: who asked, why, under what, what they got, for whom.

    The citizen is a hiding commitment (``citizen``), or, for a bulk disclosure, a summary of a
    sub-tree of per-citizen records (``records``); at most one of the two is set. Neither is set
    for a decision about no identifiable person: an aggregate (differentially private
    statistics) or a release from a source whose people the hub cannot resolve.
    """

    id: str
    time: datetime
    source: str
    organisation: str
    client: str
    agreement: str | None
    purpose: str
    lawful_basis: LawfulBasis | None
    fields: tuple[str, ...]
    decision: Outcome
    reasons: tuple[str, ...]
    citizen: str | None = None
    records: RecordsSummary | None = None

    def __post_init__(self) -> None:
        _check(_ENTRY_ID, self.id, "id")
        format_time(self.time)
        for name in ("source", "organisation", "client"):
            _check(_TOKEN, getattr(self, name), name)
        if self.agreement is not None:
            _check(_TOKEN, self.agreement, "agreement")
        _check(_PURPOSE, self.purpose, "purpose")
        if self.lawful_basis is not None and not isinstance(self.lawful_basis, LawfulBasis):
            raise EntryError("lawful_basis is not a UK GDPR Article 6(1) basis")
        if not isinstance(self.decision, Outcome):
            raise EntryError("decision must be permit or refuse")
        _check_list(_TOKEN, self.fields, "fields", MAX_FIELDS)
        object.__setattr__(self, "fields", tuple(sorted(set(self.fields))))
        _check_list(_REASON, self.reasons, "reasons", MAX_REASONS)
        if self.citizen is not None and self.records is not None:
            raise EntryError("an entry names one citizen or a set of records, not both")
        if self.citizen is not None:
            _check(_HASH_HEX, self.citizen, "citizen")

    @property
    def is_bulk(self) -> bool:
        return self.records is not None

    @property
    def is_aggregate(self) -> bool:
        """About no one in particular: no citizen commitment and no per-citizen records."""
        return self.citizen is None and self.records is None


@dataclass(frozen=True, slots=True)
class CitizenRecord:
    """One citizen's part of a bulk disclosure: a leaf of the entry's records sub-tree."""

    citizen: str
    decision: Outcome
    reasons: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        _check(_HASH_HEX, self.citizen, "citizen")
        if not isinstance(self.decision, Outcome):
            raise EntryError("decision must be permit or refuse")
        _check_list(_REASON, self.reasons, "reasons", MAX_REASONS)


def entry_json(entry: Entry) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agreement": entry.agreement,
        "client": entry.client,
        "decision": entry.decision.value,
        "fields": list(entry.fields),
        "id": entry.id,
        "lawful_basis": entry.lawful_basis.value if entry.lawful_basis else None,
        "organisation": entry.organisation,
        "purpose": entry.purpose,
        "reasons": list(entry.reasons),
        "source": entry.source,
        "time": format_time(entry.time),
        "v": ENTRY_VERSION,
    }
    if entry.records is not None:
        body["records"] = {"count": entry.records.count, "root": entry.records.root}
    elif entry.citizen is not None:
        body["citizen"] = entry.citizen
    return body


def record_json(record: CitizenRecord) -> dict[str, Any]:
    return {
        "citizen": record.citizen,
        "decision": record.decision.value,
        "reasons": list(record.reasons),
        "v": ENTRY_VERSION,
    }


def canonical(body: dict[str, Any]) -> bytes:
    return _ENCODER.encode(body).encode("ascii")


def encode_entry(entry: Entry) -> bytes:
    """The leaf input: the one byte string whose RFC 9162 leaf hash goes into the tree."""
    return canonical(entry_json(entry))


def encode_record(record: CitizenRecord) -> bytes:
    return canonical(record_json(record))


_ENTRY_KEYS = {
    "agreement",
    "client",
    "decision",
    "fields",
    "id",
    "lawful_basis",
    "organisation",
    "purpose",
    "reasons",
    "source",
    "time",
    "v",
}


def _load(data: bytes) -> dict[str, Any]:
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise EntryError("leaf input is not JSON") from error
    if not isinstance(body, dict) or body.get("v") != ENTRY_VERSION:
        raise EntryError(f"leaf input is not a version {ENTRY_VERSION} object")
    return body


def _strings(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise EntryError(f"{name} must be a list")
    return tuple(value)


def decode_entry(data: bytes) -> Entry:
    """Parse a leaf input and insist it is canonical, so one entry has exactly one encoding."""
    body = _load(data)
    subject = {key for key in ("citizen", "records") if key in body}
    if set(body) != _ENTRY_KEYS | subject:
        raise EntryError("leaf input has missing or unknown keys")
    try:
        records = body.get("records")
        entry = Entry(
            id=body["id"],
            time=parse_time(body["time"]),
            source=body["source"],
            organisation=body["organisation"],
            client=body["client"],
            agreement=body["agreement"],
            purpose=body["purpose"],
            lawful_basis=None
            if body["lawful_basis"] is None
            else LawfulBasis(body["lawful_basis"]),
            fields=_strings(body["fields"], "fields"),
            decision=Outcome(body["decision"]),
            reasons=_strings(body["reasons"], "reasons"),
            citizen=body.get("citizen"),
            records=None
            if records is None
            else RecordsSummary(count=records["count"], root=records["root"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise EntryError(
            f"leaf input does not describe an entry ({type(error).__name__})"
        ) from None
    if encode_entry(entry) != data:
        raise EntryError("leaf input is not in canonical form")
    return entry


def decode_record(data: bytes) -> CitizenRecord:
    body = _load(data)
    if set(body) != {"citizen", "decision", "reasons", "v"}:
        raise EntryError("record has missing or unknown keys")
    try:
        record = CitizenRecord(
            citizen=body["citizen"],
            decision=Outcome(body["decision"]),
            reasons=_strings(body["reasons"], "reasons"),
        )
    except (TypeError, ValueError) as error:
        raise EntryError(f"record is not well formed ({type(error).__name__})") from None
    if encode_record(record) != data:
        raise EntryError("record is not in canonical form")
    return record
