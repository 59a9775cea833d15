"""Whether GPG 45 scores an identity provider reports support the confidence it claims — pure.

The profiles are the published GPG 45 identity profiles: each names the evidence pieces it needs
(strength, validity) and the least activity-history, identity-fraud and verification scores.
A profile is met when every score reaches its floor and the evidence pieces can be paired,
one to one, with the profile's requirements. The broker never takes a ``P`` level on trust: the
scores must meet a profile of that level or above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import permutations
from typing import Any

MAX_EVIDENCE = 6
MAX_SCORE = 4


@dataclass(frozen=True)
class Profile:
    """One GPG 45 profile: its confidence (1 low … 4 very high) and the scores it needs."""

    name: str
    confidence: int
    evidence: tuple[tuple[int, int], ...]
    activity: int
    fraud: int
    verification: int


def _p(name: str, evidence: tuple[tuple[int, int], ...], a: int, f: int, v: int) -> Profile:
    level = {"L": 1, "M": 2, "H": 3, "V": 4}[name[0]]
    return Profile(name, level, evidence, a, f, v)


_22, _32, _33, _42, _43, _44, _11 = (2, 2), (3, 2), (3, 3), (4, 2), (4, 3), (4, 4), (1, 1)
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        _p("L1A", (_22,), 0, 1, 1),
        _p("L1B", (_32,), 0, 0, 1),
        _p("L1C", (_11,), 3, 2, 2),
        _p("L2A", (_11, _11), 2, 1, 2),
        _p("L2B", (_11, _11), 2, 2, 1),
        _p("L3A", (_11, _11, _11), 2, 1, 1),
        _p("M1A", (_42,), 0, 1, 2),
        _p("M1B", (_32,), 1, 2, 2),
        _p("M1C", (_33,), 0, 0, 3),
        _p("M1D", (_22,), 2, 1, 3),
        _p("M2A", (_22, _22), 3, 2, 2),
        _p("M2B", (_32, _22), 1, 1, 2),
        _p("M2C", (_32, _22), 0, 1, 3),
        _p("M3A", (_22, _22, _22), 2, 2, 2),
        _p("H1A", (_43,), 0, 1, 3),
        _p("H1B", (_33,), 2, 1, 3),
        _p("H1C", (_43,), 0, 0, 4),
        _p("H2A", (_22, _22), 3, 2, 3),
        _p("H2B", (_42, _32), 0, 2, 3),
        _p("H2C", (_33, _22), 1, 1, 3),
        _p("H2D", (_33, _22), 0, 1, 3),
        _p("H2E", (_43, _33), 0, 0, 3),
        _p("H3A", (_22, _22, _22), 2, 2, 3),
        _p("V1A", (_43,), 0, 3, 3),
        _p("V1B", (_44,), 0, 1, 3),
        _p("V1C", (_43,), 1, 1, 4),
        _p("V1D", (_44,), 0, 0, 4),
        _p("V2A", (_33, _33), 3, 2, 3),
        _p("V2B", (_43, _33), 0, 2, 3),
        _p("V2C", (_43, _22), 2, 2, 3),
        _p("V2D", (_44, _44), 0, 0, 3),
        _p("V3A", (_33, _22, _22), 3, 3, 3),
    )
}


@dataclass(frozen=True)
class Scores:
    """What an identity provider reports it checked: evidence pieces and the other scores."""

    evidence: tuple[tuple[int, int], ...]
    activity: int
    fraud: int
    verification: int
    profile: str | None = None


class Gpg45Error(ValueError):
    """A ``gpg45`` claim that cannot be read; the message names the rule, not the value."""


def _score(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SCORE:
        raise Gpg45Error(f"{name} must be a whole score from 0 to {MAX_SCORE}")
    return value


def parse_scores(claim: Any) -> Scores:
    """Read a ``gpg45`` claim: ``evidence`` [{strength, validity}], activity, fraud, verification.

    The scores may sit at the top level or under ``scores``; ``profile`` names the profile met.
    """
    if not isinstance(claim, Mapping):
        raise Gpg45Error("gpg45 must be an object")
    body: Mapping[str, Any] = claim.get("scores", claim)
    if not isinstance(body, Mapping):
        raise Gpg45Error("gpg45 scores must be an object")
    pieces = body.get("evidence", claim.get("evidence", []))
    if not isinstance(pieces, Sequence) or isinstance(pieces, str) or len(pieces) > MAX_EVIDENCE:
        raise Gpg45Error(f"evidence must be a list of at most {MAX_EVIDENCE} pieces")
    evidence = []
    for piece in pieces:
        if not isinstance(piece, Mapping):
            raise Gpg45Error("each evidence piece must be an object")
        evidence.append(
            (_score(piece.get("strength"), "strength"), _score(piece.get("validity"), "validity"))
        )
    profile = claim.get("profile")
    if profile is not None and not isinstance(profile, str):
        raise Gpg45Error("profile must be a profile name")
    return Scores(
        evidence=tuple(evidence),
        activity=_score(body.get("activity", 0), "activity"),
        fraud=_score(body.get("fraud", 0), "fraud"),
        verification=_score(body.get("verification", 0), "verification"),
        profile=profile,
    )


def meets(profile: Profile, scores: Scores) -> bool:
    """Whether the scores meet the profile: every floor reached, evidence paired one to one."""
    if (
        scores.activity < profile.activity
        or scores.fraud < profile.fraud
        or scores.verification < profile.verification
        or len(scores.evidence) < len(profile.evidence)
    ):
        return False
    for chosen in permutations(scores.evidence, len(profile.evidence)):
        if all(
            s >= rs and v >= rv for (s, v), (rs, rv) in zip(chosen, profile.evidence, strict=True)
        ):
            return True
    return False


def supported_confidence(scores: Scores) -> int:
    """The highest confidence (0 none, 1 low … 4 very high) of any profile the scores meet."""
    return max((p.confidence for p in PROFILES.values() if meets(p, scores)), default=0)


def supports(claim: Any, confidence: int) -> bool:
    """Whether a ``gpg45`` claim backs identity confidence ``confidence`` (P0 needs nothing).

    A named profile must exist, be of that level or above, and be met by the scores themselves.
    """
    if confidence <= 0:
        return True
    try:
        scores = parse_scores(claim)
    except Gpg45Error:
        return False
    if scores.profile is not None:
        named = PROFILES.get(scores.profile)
        if named is None or named.confidence < confidence or not meets(named, scores):
            return False
    return supported_confidence(scores) >= confidence
