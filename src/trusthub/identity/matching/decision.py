"""Matching's decision rules, kept pure: what a set of scored candidates or an answer means.

GOV.UK Verify lost most of its users at matching, mostly to "not sure" answers. Here a verified
identity becomes one of three outcomes: a match (one record, clearly), no match, or ambiguous —
and an ambiguous identity gets one extra question (Verify's "cycle 3": a NINO or driving licence
number), whose answer decides with a deterministic rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np


class Outcome(StrEnum):
    MATCH = "match"
    NO_MATCH = "no-match"
    AMBIGUOUS = "ambiguous"


class Question(StrEnum):
    """The one extra attribute an ambiguous identity may be asked for."""

    NINO = "nino"
    DRIVING_LICENCE = "driving_licence_number"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Match probabilities that separate the outcomes (Splink's calibrated probability)."""

    match: float = 0.999
    """The best candidate is a match at or above this ..."""
    rival: float = 0.05
    """... provided no other candidate reaches this."""
    possible: float = 0.05
    """Below this no candidate is worth a question: no match."""

    def __post_init__(self) -> None:
        if not 0.0 < self.possible <= self.match < 1.0 or not 0.0 < self.rival <= self.match:
            raise ValueError("thresholds must satisfy 0 < possible, rival <= match < 1")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One of the department's records and how likely it is this identity's."""

    local_id: str
    probability: float


@dataclass(frozen=True, slots=True)
class Decision:
    """An outcome; the record when it is a match; the question when one may settle it."""

    outcome: Outcome
    local_id: str | None = None
    question: Question | None = None


NO_MATCH = Decision(Outcome.NO_MATCH)


def decide(
    candidates: Sequence[Candidate], thresholds: Thresholds, question: Question | None
) -> Decision:
    """Scored candidates to an outcome; ``question`` is what this department can ask, if any."""
    ranked = sorted(candidates, key=lambda c: (-c.probability, c.local_id))
    if not ranked or ranked[0].probability < thresholds.possible:
        return NO_MATCH
    best, rivals = ranked[0], [c for c in ranked[1:] if c.probability >= thresholds.rival]
    if best.probability >= thresholds.match and not rivals:
        return Decision(Outcome.MATCH, best.local_id)
    return Decision(Outcome.AMBIGUOUS, question=question)


OUTCOME_CODES = (Outcome.MATCH, Outcome.NO_MATCH, Outcome.AMBIGUOUS)
"""``decide_many`` answers with indexes into this tuple."""


def decide_many(best: np.ndarray, rival: np.ndarray, thresholds: Thresholds) -> np.ndarray:
    """``decide`` for a million identities at once, from each one's best and runner-up
    probabilities (NaN where there is none): the same rule, as indexes into OUTCOME_CODES."""
    best = np.nan_to_num(best, nan=-1.0)
    rival = np.nan_to_num(rival, nan=-1.0)
    matched = (best >= thresholds.match) & (rival < thresholds.rival)
    result: np.ndarray = np.where(best < thresholds.possible, 1, np.where(matched, 0, 2))
    return result.astype(np.int8)


@dataclass(frozen=True, slots=True)
class Facts:
    """What a strong identifier's holder must share with the identity to be believed."""

    date_of_birth: date | None
    family_names: frozenset[str]
    postcodes: frozenset[str]


def corroborates(identity: Facts, record: Facts) -> bool:
    """A strong identifier alone is not enough (it may be mistyped into someone else's): the
    record must also agree on the birth date, a surname or a postcode."""
    return (
        (identity.date_of_birth is not None and identity.date_of_birth == record.date_of_birth)
        or bool(identity.family_names & record.family_names)
        or bool(identity.postcodes & record.postcodes)
    )


def decide_on_identifier(identity: Facts, holders: Sequence[tuple[str, Facts]]) -> Decision:
    """The records carrying the identity's strong identifier: exactly one that corroborates is
    a match; none, or more than one, is no match (a shared identifier settles nothing)."""
    believed = sorted({local_id for local_id, facts in holders if corroborates(identity, facts)})
    if len(believed) == 1:
        return Decision(Outcome.MATCH, believed[0])
    return NO_MATCH
