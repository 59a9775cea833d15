"""GPG 45 scores → profile → confidence, and reading a ``gpg45`` claim back — pure.

The source is Good Practice Guide 45, "How to prove and verify someone's identity" (Cabinet
Office and GDS), and its identity profiles: low L*, medium M*, high H*, very high V*:
https://www.gov.uk/government/publications/identity-proofing-and-verification-of-an-individual
Each piece of evidence scores a strength and a validity (0-4); the identity scores an activity
history, an identity fraud check and a verification (0-4). A profile names the least it needs of
each; evidence pieces may meet the profile's pieces in any order. Confidence low … very high is
the Vectors of Trust P1 … P4. Identity providers score and claim here; the broker checks here
that a claimed level is backed by the scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import permutations
from typing import Any

MAX_EVIDENCE = 6
"""The most evidence pieces a claim may list: pairing them with a profile stays cheap."""
MAX_SCORE = 4
CONFIDENCE_NAMES = {0: "none", 1: "low", 2: "medium", 3: "high", 4: "very high"}


@dataclass(frozen=True, order=True)
class Evidence:
    strength: int
    validity: int


@dataclass(frozen=True)
class Scores:
    """What was checked: the evidence pieces and the other three scores."""

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


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
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
}


def meets(scores: Scores, profile: Profile) -> bool:
    """Every floor reached, and the evidence pieces paired one to one with the profile's."""
    needs = profile.needs
    if (
        scores.activity < needs.activity
        or scores.fraud < needs.fraud
        or scores.verification < needs.verification
        or len(scores.evidence) < len(needs.evidence)
    ):
        return False
    return any(
        all(
            h.strength >= n.strength and h.validity >= n.validity
            for h, n in zip(chosen, needs.evidence, strict=True)
        )
        for chosen in permutations(scores.evidence, len(needs.evidence))
    )


def best_profile(scores: Scores, contra_indicated: bool = False) -> Profile | None:
    """The highest-confidence profile the scores meet (first in table order); None for none.

    A contra-indicator (an identity reported stolen, deceased or synthetic) stops any profile.
    """
    if contra_indicated:
        return None
    met = [p for p in PROFILES.values() if meets(scores, p)]
    return max(met, key=lambda p: p.confidence, default=None)


def confidence(scores: Scores, contra_indicated: bool = False) -> int:
    """The confidence (0 none, 1 low … 4 very high) of the best profile the scores meet."""
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


@dataclass(frozen=True)
class Claimed:
    """A ``gpg45`` claim read back: the scores, and the profile it names if any."""

    scores: Scores
    profile: str | None = None


class Gpg45Error(ValueError):
    """A ``gpg45`` claim that cannot be read; the message names the rule, not the value."""


def _score(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SCORE:
        raise Gpg45Error(f"{name} must be a whole score from 0 to {MAX_SCORE}")
    return value


def parse_claim(body: Any) -> Claimed:
    """Read a ``gpg45`` claim: ``evidence`` [{strength, validity}], activity, fraud, verification.

    The scores may sit at the top level or under ``scores``; ``profile`` names the profile met.
    """
    if not isinstance(body, Mapping):
        raise Gpg45Error("gpg45 must be an object")
    found: Mapping[str, Any] = body.get("scores", body)
    if not isinstance(found, Mapping):
        raise Gpg45Error("gpg45 scores must be an object")
    pieces = found.get("evidence", body.get("evidence", []))
    if not isinstance(pieces, Sequence) or isinstance(pieces, str) or len(pieces) > MAX_EVIDENCE:
        raise Gpg45Error(f"evidence must be a list of at most {MAX_EVIDENCE} pieces")
    evidence = []
    for piece in pieces:
        if not isinstance(piece, Mapping):
            raise Gpg45Error("each evidence piece must be an object")
        strength = _score(piece.get("strength"), "strength")
        evidence.append(Evidence(strength, _score(piece.get("validity"), "validity")))
    profile = body.get("profile")
    if profile is not None and not isinstance(profile, str):
        raise Gpg45Error("profile must be a profile name")
    scores = Scores(
        evidence=tuple(evidence),
        activity=_score(found.get("activity", 0), "activity"),
        fraud=_score(found.get("fraud", 0), "fraud"),
        verification=_score(found.get("verification", 0), "verification"),
    )
    return Claimed(scores, profile)


def supports(body: Any, level: int) -> bool:
    """Whether a ``gpg45`` claim backs identity confidence ``level`` (P0 needs nothing).

    The broker never takes a ``P`` level on trust: the scores themselves must meet a profile of
    that level or above, and a named profile must exist, be of that level or above, and be met.
    """
    if level <= 0:
        return True
    try:
        read = parse_claim(body)
    except Gpg45Error:
        return False
    if read.profile is not None:
        named = PROFILES.get(read.profile)
        if named is None or named.confidence < level or not meets(read.scores, named):
            return False
    return confidence(read.scores) >= level
