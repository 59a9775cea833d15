"""The broker's pure rules: judging an identity provider's vot, step-up."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.identity import gpg45
from trusthub.identity.broker.decide import Accept, Refuse, ask_for, judge, must_prove
from trusthub.identity.gpg45 import PROFILES, Evidence, Scores, supports
from trusthub.identity.oidc.vtr import Satisfied, StepUp, Unmet, decide, parse_vector, parse_vtr


def claim(
    evidence: list[tuple[int, int]], a: int, f: int, v: int, profile: str | None = None
) -> dict[str, Any]:
    """A ``gpg45`` claim as a provider writes it, naming ``profile`` whether met or not."""
    scores = Scores(tuple(Evidence(*e) for e in evidence), a, f, v)
    return gpg45.claim(scores, PROFILES[profile] if profile else None)


M1B = claim([(3, 2)], 1, 2, 2, "M1B")


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
