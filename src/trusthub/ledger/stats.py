"""What auditors see at a glance: accesses per agreement and organisation, refusals, log growth.

Pure: it takes public entries and checkpoint sizes, never anything about a person, and returns
the counts the auditor's page draws and tabulates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel, computed_field

from trusthub.ledger import words
from trusthub.ledger.entry import Entry, Outcome

NO_AGREEMENT = "none"
EXEMPTION_PREFIX = "exemption:"


class Tally(BaseModel):
    """Decisions about one agreement or one organisation."""

    key: str
    label: str
    permitted: int
    refused: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        return self.permitted + self.refused


class ReasonTally(BaseModel):
    reason: str
    label: str
    count: int


class SizePoint(BaseModel):
    """The log's size as a signed checkpoint stated it at a moment."""

    time: datetime
    tree_size: int


class LedgerStats(BaseModel):
    tree_size: int
    first_index: int
    entries_counted: int
    permitted: int
    refused: int
    by_agreement: list[Tally]
    by_organisation: list[Tally]
    refusals: list[ReasonTally]
    growth: list[SizePoint]


def tally(
    entries: Iterable[Entry], key_of: Callable[[Entry], str], label_of: Callable[[str], str]
) -> list[Tally]:
    """Permitted and refused per key, busiest first (ties by key, so the order is stable)."""
    permitted: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for entry in entries:
        counter = permitted if entry.decision is Outcome.PERMIT else refused
        counter[key_of(entry)] += 1
    keys = set(permitted) | set(refused)
    rows = [
        Tally(key=k, label=label_of(k), permitted=permitted[k], refused=refused[k]) for k in keys
    ]
    return sorted(rows, key=lambda t: (-t.total, t.key))


def refusals_by_reason(entries: Iterable[Entry]) -> list[ReasonTally]:
    """Each reason given for a refusal, counted once per refused entry that gives it."""
    counts: Counter[str] = Counter()
    for entry in entries:
        if entry.decision is Outcome.REFUSE:
            reasons = {r for r in entry.reasons if not r.startswith(EXEMPTION_PREFIX)}
            counts.update(reasons or {"no reason given"})
    return [
        ReasonTally(reason=r, label=words.reason(r), count=n)
        for r, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def growth(points: Iterable[tuple[datetime, int]]) -> list[SizePoint]:
    """Checkpoint sizes in order, one per size: a log that shrank would show as a fall."""
    seen: dict[int, datetime] = {}
    for moment, size in points:
        seen.setdefault(size, moment)
    return [SizePoint(time=t, tree_size=s) for s, t in sorted(seen.items())]


def summarise(
    entries: Sequence[Entry],
    first_index: int,
    tree_size: int,
    checkpoints: Iterable[tuple[datetime, int]],
    organisation_names: Mapping[str, str],
) -> LedgerStats:
    """The auditor's figures for entries ``first_index`` … ``first_index + len(entries) - 1``."""
    permitted = sum(1 for e in entries if e.decision is Outcome.PERMIT)
    return LedgerStats(
        tree_size=tree_size,
        first_index=first_index,
        entries_counted=len(entries),
        permitted=permitted,
        refused=len(entries) - permitted,
        by_agreement=tally(
            entries,
            lambda e: e.agreement or NO_AGREEMENT,
            lambda k: "No agreement given" if k == NO_AGREEMENT else k,
        ),
        by_organisation=tally(
            entries, lambda e: e.organisation, lambda k: organisation_names.get(k, k)
        ),
        refusals=refusals_by_reason(entries),
        growth=growth(checkpoints),
    )
