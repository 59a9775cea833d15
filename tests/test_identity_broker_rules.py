"""The broker's pure rules: GPG 45 support, judging an identity provider's vot, step-up."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.identity.broker.decide import Accept, Refuse, ask_for, judge, must_prove
from trusthub.identity.broker.gpg45 import PROFILES, Scores, meets, supported_confidence, supports
from trusthub.identity.oidc.vtr import Satisfied, StepUp, Unmet, decide, parse_vector, parse_vtr
from trusthub.ratelimit import Window, allow


def claim(
    evidence: list[tuple[int, int]], a: int, f: int, v: int, profile: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "evidence": [{"strength": s, "validity": val} for s, val in evidence],
        "activity": a,
        "fraud": f,
        "verification": v,
    }
    if profile:
        body["profile"] = profile
    return body


M1B = claim([(3, 2)], 1, 2, 2, "M1B")


@pytest.mark.parametrize(
    ("gpg45", "confidence", "expected"),
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
        ({"evidence": "x"}, 1, False),
        ({"evidence": [{"strength": 9, "validity": 2}]}, 1, False),
        ({"evidence": [{"strength": True, "validity": 2}]}, 1, False),
    ],
)
def test_gpg45_support(gpg45: Any, confidence: int, expected: bool) -> None:
    assert supports(gpg45, confidence) is expected


@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=3),
    st.integers(0, 4),
    st.integers(0, 4),
    st.integers(0, 4),
)
def test_a_supported_level_is_met_by_some_profile_of_that_level(
    evidence: list[tuple[int, int]], a: int, f: int, v: int
) -> None:
    scores = Scores(tuple(evidence), a, f, v)
    level = supported_confidence(scores)
    if level:
        assert any(p.confidence == level and meets(p, scores) for p in PROFILES.values())
    higher = Scores(tuple((min(4, s + 1), min(4, val + 1)) for s, val in evidence), a, f, v)
    assert supported_confidence(higher) >= level  # better evidence never lowers confidence


@pytest.mark.parametrize(
    ("asked", "vot", "gpg45", "expected"),
    [
        ("Cl.Cm.P2", "Cl.Cm.P2", M1B, Accept(parse_vector("Cl.Cm.P2"))),
        ("Cl.Cm", "Cl.Cm.P2", M1B, Accept(parse_vector("Cl.Cm.P2"))),
        ("Cl", "Cl", None, Accept(parse_vector("Cl"))),
        ("Cl.Cm.P2", "Cl.Cm.P1", M1B, Refuse("vot_below_asked")),
        ("Cl.Cm.P2", "Cl.P0", None, Refuse("vot_below_asked")),
        ("Cl.Cm", "Cl", None, Refuse("vot_below_asked")),
        (
            "Cl.Cm.P2",
            "Cl.Cm.P2",
            claim([(2, 2)], 0, 1, 1, "L1A"),
            Refuse("gpg45_does_not_support_vot"),
        ),
        ("Cl.Cm.P2", "Cl.Cm.P2", None, Refuse("gpg45_does_not_support_vot")),
        ("Cl.Cm", "Cl.Cm.P3", M1B, Refuse("gpg45_does_not_support_vot")),  # over-claims
        ("Cl", None, None, Refuse("no_vot")),
        ("Cl", "Px", None, Refuse("bad_vot")),
        ("Cl", ["Cl"], None, Refuse("no_vot")),
    ],
)
def test_judging_an_identity_providers_answer(
    asked: str, vot: Any, gpg45: Any, expected: object
) -> None:
    assert judge(parse_vector(asked), vot, gpg45) == expected


@pytest.mark.parametrize(
    ("target", "linked", "asked"),
    [
        ("Cl", True, "Cl"),
        ("Cl", False, "Cl.Cm.P2"),
        ("Cl.Cm", False, "Cl.Cm.P2"),
        ("Cl.Cm.P1", False, "Cl.Cm.P2"),
        ("Cl.Cm.P3", False, "Cl.Cm.P3"),
        ("Cl.Cm.P3", True, "Cl.Cm.P3"),
    ],
)
def test_what_the_broker_asks_of_a_provider(target: str, linked: bool, asked: str) -> None:
    assert ask_for(parse_vector(target), linked).text == asked


@pytest.mark.parametrize(
    ("held", "linked", "expected"),
    [
        ("Cl", False, True),
        ("Cl.Cm.P1", False, True),
        ("Cl.Cm.P2", False, False),
        ("Cl", True, False),
    ],
)
def test_a_new_account_must_be_proven_before_it_is_linked(
    held: str, linked: bool, expected: bool
) -> None:
    assert must_prove(parse_vector(held), linked) is expected


BROKER_REACH = parse_vector("Cl.Cm.P3")


@pytest.mark.parametrize(
    ("vtr", "held", "reach", "expected"),
    [
        ('["Cl.Cm.P2"]', "Cl.P0", BROKER_REACH, StepUp(parse_vector("Cl.Cm.P2"))),
        ('["Cl.Cm.P2"]', "Cl.Cm.P1", BROKER_REACH, StepUp(parse_vector("Cl.Cm.P2"))),
        ('["Cl.Cm.P2"]', "Cl.Cm.P2", BROKER_REACH, Satisfied(parse_vector("Cl.Cm.P2"))),
        ('["Cl.Cm"]', "Cl.Cm.P2", BROKER_REACH, Satisfied(parse_vector("Cl.Cm"))),
        ('["Cl.Cm.P2", "Cl.Cm"]', "Cl.Cm.P1", BROKER_REACH, Satisfied(parse_vector("Cl.Cm"))),
        ('["Cl.Cm.P2"]', None, None, Unmet()),
        ('["Cl.Cm.P4"]', "Cl.Cm.P2", BROKER_REACH, Unmet()),
        ('["Cl.Cm.P2"]', "Cl.P0", parse_vector("Cl.P0"), Unmet()),  # DEMO only: cannot step up
    ],
)
def test_step_up_decision(vtr: str, held: str | None, reach: Any, expected: object) -> None:
    holding = parse_vector(held) if held else None
    assert decide(parse_vtr(vtr), holding, reach) == expected


@pytest.mark.parametrize(
    ("past", "now", "allowed", "kept"),
    [
        ((), 10.0, True, (10.0,)),
        ((1.0, 2.0), 10.0, True, (1.0, 2.0, 10.0)),
        ((1.0, 2.0, 3.0), 10.0, False, (1.0, 2.0, 3.0)),
        ((1.0, 2.0, 3.0), 61.5, True, (2.0, 3.0, 61.5)),  # the oldest has left the window
        ((1.0, 2.0, 3.0), 70.0, True, (70.0,)),
    ],
)
def test_sliding_window(
    past: tuple[float, ...], now: float, allowed: bool, kept: tuple[float, ...]
) -> None:
    verdict = allow(past, now, Window(limit=3, seconds=60))
    assert verdict.allowed is allowed and verdict.kept == kept


@given(st.lists(st.floats(0, 1000), max_size=40), st.floats(0, 1000))
def test_never_more_than_the_limit_in_a_window(times: list[float], now: float) -> None:
    window = Window(limit=5, seconds=60)
    kept: tuple[float, ...] = ()
    for moment in sorted([*times, now]):
        kept = allow(kept, moment, window).kept
        assert len([t for t in kept if moment - 60 < t <= moment]) <= 5


VECTORS = ["Cl", "Cl.Cm", "Cl.Cm.P1", "Cl.Cm.P2", "Cl.Cm.P3", "Cl.Cm.P4"]


@given(
    st.sampled_from(VECTORS),
    st.one_of(st.sampled_from(VECTORS), st.text(max_size=12), st.none()),
    st.one_of(
        st.none(),
        st.builds(
            claim,
            st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=3),
            st.integers(0, 4),
            st.integers(0, 4),
            st.integers(0, 4),
            st.one_of(st.none(), st.sampled_from(sorted(PROFILES))),
        ),
    ),
)
def test_an_accepted_answer_always_meets_the_ask_and_is_backed_by_scores(
    asked: str, vot: Any, gpg45: Any
) -> None:
    verdict = judge(parse_vector(asked), vot, gpg45)
    if isinstance(verdict, Accept):
        assert verdict.held.satisfies(parse_vector(asked))
        assert verdict.held.text == parse_vector(str(vot)).text
        assert supports(gpg45, verdict.held.confidence)


@pytest.mark.parametrize(
    ("environment", "asked", "offered"),
    [("development", None, True), ("development", False, False), ("production", True, False)],
)
def test_the_demo_sign_in_is_for_development_only(
    environment: str, asked: bool | None, offered: bool
) -> None:
    from trusthub.config import Settings
    from trusthub.identity.oidc.provider import ProviderSetup

    settings = Settings(environment=environment, identity_demo_sign_in=asked)
    assert ProviderSetup.from_settings(settings).demo_sign_in is offered
