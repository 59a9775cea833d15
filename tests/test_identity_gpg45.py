"""GPG 45: scores → profile → confidence at the providers, and the broker's check of a claim."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.identity import gpg45
from trusthub.identity.gpg45 import PROFILES, Evidence, Scores, supports


def s(evidence: list[tuple[int, int]], activity: int, fraud: int, verification: int) -> Scores:
    return Scores(tuple(Evidence(*e) for e in evidence), activity, fraud, verification)


def claim(
    evidence: list[tuple[int, int]], a: int, f: int, v: int, profile: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "evidence": [{"strength": strength, "validity": val} for strength, val in evidence],
        "activity": a,
        "fraud": f,
        "verification": v,
    }
    if profile:
        body["profile"] = profile
    return body


M1B = claim([(3, 2)], 1, 2, 2, "M1B")


@pytest.mark.parametrize(
    ("scores", "profile", "level"),
    [
        (s([(4, 2)], 0, 1, 2), "M1A", 2),
        (s([(3, 2)], 1, 2, 2), "M1B", 2),
        (s([(3, 3)], 0, 0, 3), "M1C", 2),
        (s([(2, 2), (3, 2)], 1, 1, 2), "M2B", 2),
        (s([(3, 2), (2, 2)], 1, 1, 2), "M2B", 2),  # evidence in either order
        (s([(4, 3)], 0, 1, 3), "H1A", 3),
        (s([(4, 3)], 0, 0, 4), "H1C", 3),
        (s([(4, 3), (3, 3)], 0, 0, 3), "H2E", 3),
        (s([(4, 4)], 0, 1, 3), "V1B", 4),
        (s([(2, 2)], 0, 1, 1), "L1A", 1),
        (s([(3, 2)], 0, 0, 1), "L1B", 1),
        (s([(1, 1), (1, 1)], 2, 2, 1), "L2B", 1),
        (s([(4, 2)], 0, 1, 1), "L1A", 1),
        (s([(3, 2)], 0, 1, 2), "L1A", 1),
        (s([], 3, 3, 3), None, 0),
        (s([(1, 1)], 0, 0, 0), None, 0),
    ],
)
def test_profiles(scores: Scores, profile: str | None, level: int) -> None:
    best = gpg45.best_profile(scores)
    assert (best.name if best else None) == profile
    assert gpg45.confidence(scores) == level


def test_a_contra_indicator_stops_every_profile() -> None:
    assert gpg45.best_profile(s([(4, 4)], 4, 4, 4), contra_indicated=True) is None


def test_the_claim_carries_scores_and_profile() -> None:
    scores = s([(4, 2)], 0, 1, 2)
    written = gpg45.claim(scores, gpg45.best_profile(scores))
    assert written == {
        "profile": "M1A",
        "confidence": "medium",
        "level": "P2",
        "evidence": [{"strength": 4, "validity": 2}],
        "activity": 0,
        "fraud": 1,
        "verification": 2,
    }
    assert gpg45.parse_claim(written) == gpg45.Claimed(scores, "M1A")
    assert supports(written, 2) and not supports(written, 3)


@pytest.mark.parametrize(
    ("body", "level", "expected"),
    [
        (None, 0, True),  # P0 needs no proofing
        (None, 2, False),
        ("M1B", 2, False),
        (M1B, 2, True),
        (M1B, 1, True),
        (M1B, 3, False),
        (claim([(3, 2)], 1, 2, 1, "M1B"), 2, False),  # verification below the profile's floor
        (claim([(3, 2)], 0, 2, 2, "M1B"), 2, False),  # activity below M1B's floor
        (claim([(3, 2)], 1, 2, 2, "H1A"), 2, False),  # names a profile its scores do not meet
        (claim([(3, 2)], 1, 2, 2, "Z9Z"), 2, False),  # an unknown profile
        (claim([(3, 2)], 1, 2, 2, "L1A"), 2, False),  # a low profile cannot back P2
        (claim([(2, 2), (3, 2)], 1, 1, 2, "M2B"), 2, True),  # evidence in either order
        (claim([(4, 3)], 0, 1, 3, "H1A"), 3, True),
        (claim([(4, 3)], 0, 1, 3), 3, True),  # no profile named: the scores decide
        (claim([(2, 2)], 0, 1, 1), 2, False),
        (claim([(2, 2)], 0, 1, 1), 1, True),
        ({"scores": claim([(4, 3)], 0, 1, 3)}, 3, True),  # scores may sit under "scores"
        ({"scores": "x"}, 1, False),
        ({"evidence": "x"}, 1, False),
        ({"evidence": [(2, 2)] * 7}, 1, False),  # too many pieces to pair cheaply
        ({"evidence": [{"strength": 9, "validity": 2}]}, 1, False),
        ({"evidence": [{"strength": True, "validity": 2}]}, 1, False),
        ({**claim([(2, 2)], 0, 1, 1), "profile": 3}, 1, False),
    ],
)
def test_the_broker_checks_a_claimed_level(body: Any, level: int, expected: bool) -> None:
    assert supports(body, level) is expected


score = st.integers(0, 4)
evidence = st.builds(Evidence, score, score)
scores_strategy = st.builds(Scores, st.lists(evidence, max_size=3).map(tuple), score, score, score)


@given(scores_strategy, st.sampled_from(["activity", "fraud", "verification"]))
def test_more_of_any_score_never_lowers_confidence(scores: Scores, which: str) -> None:
    raised = Scores(
        scores.evidence,
        min(4, scores.activity + (which == "activity")),
        min(4, scores.fraud + (which == "fraud")),
        min(4, scores.verification + (which == "verification")),
    )
    assert gpg45.confidence(raised) >= gpg45.confidence(scores)


@given(scores_strategy, evidence)
def test_more_evidence_never_lowers_confidence(scores: Scores, extra: Evidence) -> None:
    more = Scores((*scores.evidence, extra), scores.activity, scores.fraud, scores.verification)
    assert gpg45.confidence(more) >= gpg45.confidence(scores)


@given(scores_strategy)
def test_better_evidence_never_lowers_confidence(scores: Scores) -> None:
    better = tuple(
        Evidence(min(4, e.strength + 1), min(4, e.validity + 1)) for e in scores.evidence
    )
    raised = Scores(better, scores.activity, scores.fraud, scores.verification)
    assert gpg45.confidence(raised) >= gpg45.confidence(scores)


@given(scores_strategy)
def test_the_profile_found_is_met_and_of_the_level_given(scores: Scores) -> None:
    best = gpg45.best_profile(scores)
    assert best is None or gpg45.meets(scores, best)
    assert gpg45.confidence(scores) == (best.confidence if best else 0)
    higher = [p for p in PROFILES.values() if p.confidence > gpg45.confidence(scores)]
    assert not any(gpg45.meets(scores, p) for p in higher)


@given(scores_strategy, st.integers(1, 4))
def test_a_providers_own_claim_backs_exactly_the_level_it_reached(
    scores: Scores, level: int
) -> None:
    written = gpg45.claim(scores, gpg45.best_profile(scores))
    assert supports(written, level) is (gpg45.confidence(scores) >= level)
