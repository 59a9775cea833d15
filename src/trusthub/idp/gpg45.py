"""GPG 45 "How to prove and verify someone's identity": scores → profile → confidence — pure.

Each piece of evidence scores a strength and a validity (0-4); the identity scores an activity
history, an identity fraud check and a verification (0-4). A profile names the least it needs of
each; evidence pieces may meet the profile's pieces in any order. The profile tables follow the
published guidance (low L*, medium M*, high H*, very high V*); confidence low, medium, high and
very high are the Vectors of Trust P1, P2, P3 and P4.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import permutations
from typing import Any


@dataclass(frozen=True, order=True)
class Evidence:
    strength: int
    validity: int


@dataclass(frozen=True)
class Scores:
    evidence: tuple[Evidence, ...]
    activity: int
    fraud: int
    verification: int


@dataclass(frozen=True)
class Profile:
    name: str
    confidence: int
    """1 low, 2 medium, 3 high, 4 very high: the P of a vector of trust."""
    needs: Scores


def _p(name: str, evidence: Sequence[str], activity: int, fraud: int, verification: int) -> Profile:
    pieces = tuple(Evidence(int(e[0]), int(e[1])) for e in evidence)
    level = {"L": 1, "M": 2, "H": 3, "V": 4}[name[0]]
    return Profile(name, level, Scores(pieces, activity, fraud, verification))


PROFILES = (
    _p("L1A", ["22"], 0, 1, 1),
    _p("L1B", ["32"], 0, 0, 1),
    _p("L1C", ["11"], 3, 2, 2),
    _p("L2A", ["11", "11"], 2, 1, 2),
    _p("L2B", ["11", "11"], 2, 2, 1),
    _p("L3A", ["11", "11", "11"], 2, 1, 1),
    _p("M1A", ["42"], 0, 1, 2),
    _p("M1B", ["32"], 1, 2, 2),
    _p("M1C", ["33"], 0, 0, 3),
    _p("M1D", ["22"], 2, 1, 3),
    _p("M2A", ["22", "22"], 3, 2, 2),
    _p("M2B", ["32", "22"], 1, 1, 2),
    _p("M2C", ["32", "22"], 0, 1, 3),
    _p("M3A", ["22", "22", "22"], 2, 2, 2),
    _p("H1A", ["43"], 0, 1, 3),
    _p("H1B", ["33"], 2, 1, 3),
    _p("H1C", ["43"], 0, 0, 4),
    _p("H2A", ["22", "22"], 3, 2, 3),
    _p("H2B", ["42", "32"], 0, 2, 3),
    _p("H2C", ["33", "22"], 1, 1, 3),
    _p("H2D", ["33", "22"], 0, 1, 3),
    _p("H2E", ["43", "33"], 0, 0, 3),
    _p("H3A", ["22", "22", "22"], 2, 2, 3),
    _p("V1A", ["43"], 0, 3, 3),
    _p("V1B", ["44"], 0, 1, 3),
    _p("V1C", ["43"], 1, 1, 4),
    _p("V1D", ["44"], 0, 0, 4),
    _p("V2A", ["33", "33"], 3, 2, 3),
    _p("V2B", ["43", "33"], 0, 2, 3),
    _p("V2C", ["43", "22"], 2, 2, 3),
    _p("V2D", ["44", "44"], 0, 0, 3),
    _p("V3A", ["33", "22", "22"], 3, 3, 3),
)
CONFIDENCE_NAMES = {0: "none", 1: "low", 2: "medium", 3: "high", 4: "very high"}


def _evidence_meets(have: tuple[Evidence, ...], need: tuple[Evidence, ...]) -> bool:
    if len(have) < len(need):
        return False
    return any(
        all(
            h.strength >= n.strength and h.validity >= n.validity
            for h, n in zip(p, need, strict=False)
        )
        for p in permutations(have, len(need))
    )


def meets(scores: Scores, profile: Profile) -> bool:
    needs = profile.needs
    return (
        scores.activity >= needs.activity
        and scores.fraud >= needs.fraud
        and scores.verification >= needs.verification
        and _evidence_meets(scores.evidence, needs.evidence)
    )


def best_profile(scores: Scores, contra_indicated: bool = False) -> Profile | None:
    """The highest-confidence profile the scores meet (first in table order); None for none.

    A contra-indicator (an identity reported stolen, deceased or synthetic) stops any profile.
    """
    if contra_indicated:
        return None
    met = [p for p in PROFILES if meets(scores, p)]
    return max(met, key=lambda p: p.confidence, default=None)


def confidence(scores: Scores, contra_indicated: bool = False) -> int:
    profile = best_profile(scores, contra_indicated)
    return profile.confidence if profile else 0


def claim(scores: Scores, profile: Profile | None) -> dict[str, Any]:
    """The ``gpg45`` claim: the scores and the profile, so a relying party can check them."""
    level = profile.confidence if profile else 0
    return {
        "profile": profile.name if profile else None,
        "confidence": CONFIDENCE_NAMES[level],
        "level": f"P{level}",
        "evidence": [asdict(e) for e in scores.evidence],
        "activity": scores.activity,
        "fraud": scores.fraud,
        "verification": scores.verification,
    }
