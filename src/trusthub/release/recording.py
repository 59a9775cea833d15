"""What the ledger holds about a release, decided without I/O: who, what, to whom, under what.

A release whose source rows the hub can resolve to citizens becomes a bulk entry committing to
each of them — released (permit) or suppressed (refuse, ``suppressed``) — so each citizen can
see their anonymised record went out. Statistics, images and sources with no resolvable citizen
become an aggregate entry about no one. A release that did not pass releases no one's record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from trusthub.ledger.entry import LawfulBasis, Outcome
from trusthub.ledger.prepare import AggregateDecision, BulkDecision, CitizenOutcome

SOURCE = "release"
OPEN_PURPOSE = "open_publication"
DEFAULT_PURPOSE = "research"
SUPPRESSED = "suppressed"
MAX_REASONS = 16
MAX_FIELDS = 512

_NOT_TOKEN = re.compile(r"[^A-Za-z0-9._:/@+-]+")
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]+")


@dataclass(frozen=True)
class ReleasedCitizens:
    """The hub's citizens whose records went out, and those whose every record was suppressed."""

    released: frozenset[int]
    withheld: frozenset[int]


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger must hold about one release or one privacy-budget spend (or refusal)."""

    kind: str
    release: str
    actor: str
    recipient: str
    agreement: str
    source: str
    passed: bool
    fields: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    citizens: ReleasedCitizens | None = field(default=None)


def citizens_of(
    rows: Sequence[int | None] | None, suppressed_rows: Iterable[int]
) -> ReleasedCitizens | None:
    """Split resolved rows into released and withheld citizens; None if none resolved."""
    if rows is None:
        return None
    suppressed = set(suppressed_rows)
    released = {c for i, c in enumerate(rows) if c is not None and i not in suppressed}
    touched = {rows[i] for i in suppressed if 0 <= i < len(rows)}
    withheld = {c for c in touched if c is not None} - released
    if not released and not withheld:
        return None
    return ReleasedCitizens(frozenset(released), frozenset(withheld))


def token(text: str, fallback: str = "unknown") -> str:
    """A value the entry's token rule accepts: other characters become '-'."""
    cleaned = _NOT_TOKEN.sub("-", text).lstrip("._:/@+-")[:128]
    return cleaned or fallback


def reason(text: str) -> str:
    return _NOT_PRINTABLE.sub("?", text)[:200] or "?"


def purpose_of(agreement: str, registered_purpose: str | None) -> str:
    """Open publication, else the registered agreement's purpose, else research."""
    if agreement == "open":
        return OPEN_PURPOSE
    return registered_purpose or DEFAULT_PURPOSE


def ledger_decision(
    entry: LedgerEntry,
    *,
    purpose: str,
    lawful_basis: LawfulBasis | None = None,
) -> AggregateDecision | BulkDecision:
    """The ledger decision for a release: bulk over its citizens where known, else aggregate."""
    verdict = "passed" if entry.passed else "refused"
    reasons = [
        reason(f"release:{entry.release}"),
        reason(f"source:{entry.source}"),
        reason(f"model:{entry.kind}"),
        reason(f"outcome:{verdict}"),
        *(reason(f) for f in entry.facts),
    ][:MAX_REASONS]
    aggregate = AggregateDecision(
        organisation=token(entry.recipient),
        client=token(entry.actor, "operator"),
        purpose=purpose,
        outcome=Outcome.PERMIT if entry.passed else Outcome.REFUSE,
        agreement=None if entry.agreement == "open" else token(entry.agreement),
        lawful_basis=lawful_basis,
        fields=sorted({token(f) for f in entry.fields})[:MAX_FIELDS],
        reasons=reasons,
        source=SOURCE,
    )
    citizens = entry.citizens
    if not (entry.passed and citizens is not None and citizens.released):
        return aggregate
    parts = [CitizenOutcome(c) for c in sorted(citizens.released)] + [
        CitizenOutcome(c, Outcome.REFUSE, (SUPPRESSED,)) for c in sorted(citizens.withheld)
    ]
    return BulkDecision(
        citizens=parts,
        organisation=aggregate.organisation,
        client=aggregate.client,
        purpose=aggregate.purpose,
        outcome=aggregate.outcome,
        agreement=aggregate.agreement,
        lawful_basis=aggregate.lawful_basis,
        fields=aggregate.fields,
        reasons=aggregate.reasons,
        source=SOURCE,
    )
