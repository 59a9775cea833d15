"""Vectors of Trust (RFC 8485, as One Login): parsing, comparison and the step-up decision."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.identity.oidc.vtr import (
    Satisfied,
    StepUp,
    Unmet,
    Vector,
    VectorError,
    decide,
    parse_vector,
    parse_vtr,
)


@pytest.mark.parametrize(
    ("text", "credential", "confidence", "canonical"),
    [
        ("Cl", 1, 0, "Cl"),
        ("Cl.Cm", 2, 0, "Cl.Cm"),
        ("Cm.Cl", 2, 0, "Cl.Cm"),
        ("Cm", 2, 0, "Cm"),
        ("Cl.P0", 1, 0, "Cl.P0"),
        ("Cl.Cm.P1", 2, 1, "Cl.Cm.P1"),
        ("Cl.Cm.P2", 2, 2, "Cl.Cm.P2"),
        ("P2.Cm.Cl", 2, 2, "Cl.Cm.P2"),
        ("Cl.Cm.P4", 2, 4, "Cl.Cm.P4"),
    ],
)
def test_vectors_parse(text: str, credential: int, confidence: int, canonical: str) -> None:
    vector = parse_vector(text)
    assert (vector.credential, vector.confidence, vector.text) == (
        credential,
        confidence,
        canonical,
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "P2",  # no credential component
        "Cl.P2",  # identity confidence without two factors
        "Cl.Cl",  # repeated
        "Cl.Cm.P1.P2",  # two confidences
        "Ch",  # unknown value
        "Ma",  # category we cannot assess
        "Cl.",  # empty component
        "Clm",  # component too long
        "cl",
        "Cl.Cm.P5",
    ],
)
def test_vectors_that_cannot_be_assessed_are_refused(text: str) -> None:
    with pytest.raises(VectorError):
        parse_vector(text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ["Cl.Cm"]),
        ("", ["Cl.Cm"]),
        ('["Cl"]', ["Cl"]),
        ('["Cl.Cm.P2", "Cl.Cm"]', ["Cl.Cm.P2", "Cl.Cm"]),
    ],
)
def test_vtr_is_a_json_array_of_vectors(raw: str | None, expected: list[str]) -> None:
    assert [v.text for v in parse_vtr(raw)] == expected


@pytest.mark.parametrize(
    "raw",
    [
        "Cl",
        '"Cl"',
        "[]",
        "[1]",
        '{"v": "Cl"}',
        "[",
        '["Cl", "Xx"]',
        '["Cl"]' * 2,
        "[" + ",".join(['"Cl"'] * 9) + "]",
    ],
)
def test_malformed_vtr_is_refused(raw: str) -> None:
    with pytest.raises(VectorError):
        parse_vtr(raw)


CL, CLCM, P2, P0 = (parse_vector(t) for t in ("Cl", "Cl.Cm", "Cl.Cm.P2", "Cl.P0"))


@pytest.mark.parametrize(
    ("asked", "held", "reachable", "expected"),
    [
        # held meets the first acceptable vector: answer now, asserting what was asked
        ([CL], P0, P0, Satisfied(CL)),
        ([CLCM, CL], P0, P0, Satisfied(CL)),
        ([CL], P2, P0, Satisfied(CL)),
        ([P2, CLCM], P2, None, Satisfied(P2)),
        # not held, but reachable: step up to the most preferred reachable vector
        ([CL], None, P0, StepUp(CL)),
        ([P2, CL], None, P0, StepUp(CL)),
        ([CLCM], parse_vector("Cl"), P2, StepUp(CLCM)),
        ([P2], CLCM, P2, StepUp(P2)),
        # neither held nor reachable
        ([CLCM], P0, P0, Unmet()),
        ([P2], None, P0, Unmet()),
        ([CL], None, None, Unmet()),
    ],
)
def test_decide(
    asked: list[Vector], held: Vector | None, reachable: Vector | None, expected: object
) -> None:
    assert decide(asked, held, reachable) == expected


vectors = st.sampled_from(
    [parse_vector(t) for t in ("Cl", "Cl.Cm", "Cl.P0", "Cl.Cm.P1", "Cl.Cm.P2", "Cl.Cm.P3")]
)


@given(asked=st.lists(vectors, min_size=1, max_size=4), held=vectors, reach=vectors)
def test_a_decision_never_asserts_more_than_is_held(
    asked: list[Vector], held: Vector, reach: Vector
) -> None:
    decision = decide(asked, held, reach)
    if isinstance(decision, Satisfied):
        assert held.satisfies(decision.vot) and decision.vot in asked
    elif isinstance(decision, StepUp):
        assert reach.satisfies(decision.target) and not any(held.satisfies(v) for v in asked)
    else:
        assert not any(held.satisfies(v) or reach.satisfies(v) for v in asked)
