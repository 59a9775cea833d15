"""Matching's pure decisions: scored candidates to an outcome, and the extra question's answer."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.identity.matching.decision import (
    NO_MATCH,
    OUTCOME_CODES,
    Candidate,
    Decision,
    Facts,
    Outcome,
    Question,
    Thresholds,
    corroborates,
    decide,
    decide_many,
    decide_on_identifier,
)

T = Thresholds(match=0.99, rival=0.05, possible=0.1)
Q = Question.NINO
L = Question.DRIVING_LICENCE


def c(local_id: str, probability: float) -> Candidate:
    return Candidate(local_id, probability)


@pytest.mark.parametrize(
    ("candidates", "question", "expected"),
    [
        ([], Q, NO_MATCH),
        ([c("a", 0.09)], Q, NO_MATCH),
        ([c("a", 0.999)], Q, Decision(Outcome.MATCH, "a")),
        ([c("a", 0.99)], Q, Decision(Outcome.MATCH, "a")),
        ([c("a", 0.98)], Q, Decision(Outcome.AMBIGUOUS, question=Q)),
        ([c("a", 0.5)], None, Decision(Outcome.AMBIGUOUS)),
        ([c("a", 0.999), c("b", 0.04)], Q, Decision(Outcome.MATCH, "a")),
        ([c("a", 0.999), c("b", 0.05)], Q, Decision(Outcome.AMBIGUOUS, question=Q)),
        ([c("b", 0.6), c("a", 0.999)], Q, Decision(Outcome.AMBIGUOUS, question=Q)),
        ([c("b", 0.01), c("a", 0.999)], Q, Decision(Outcome.MATCH, "a")),
        ([c("a", 0.1)], L, Decision(Outcome.AMBIGUOUS, question=L)),
    ],
)  # fmt: skip
def test_candidates_decide_the_outcome(
    candidates: list[Candidate], question: Question | None, expected: Decision
) -> None:
    assert decide(candidates, T, question) == expected


def test_two_certain_candidates_are_never_a_match() -> None:
    decision = decide([c("a", 0.9999), c("b", 0.9999)], T, Q)
    assert decision.outcome is Outcome.AMBIGUOUS and decision.local_id is None


@pytest.mark.parametrize(
    ("match", "rival", "possible"),
    [(1.0, 0.1, 0.1), (0.5, 0.6, 0.1), (0.5, 0.1, 0.6), (0.9, 0.1, 0)],
)
def test_thresholds_that_cannot_work_are_refused(
    match: float, rival: float, possible: float
) -> None:
    with pytest.raises(ValueError):
        Thresholds(match=match, rival=rival, possible=possible)


probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(
    st.lists(
        st.tuples(st.sampled_from("abcdef"), probabilities), max_size=6, unique_by=lambda x: x[0]
    )
)
def test_the_columnar_rule_is_the_same_rule(pairs: list[tuple[str, float]]) -> None:
    candidates = [c(name, p) for name, p in pairs]
    ranked = sorted((p for _, p in pairs), reverse=True)
    best = np.array([ranked[0] if ranked else math.nan])
    rival = np.array([ranked[1] if len(ranked) > 1 else math.nan])
    assert OUTCOME_CODES[int(decide_many(best, rival, T)[0])] is decide(candidates, T, Q).outcome


@given(
    st.lists(
        st.tuples(st.sampled_from("abcdef"), probabilities),
        min_size=1,
        max_size=6,
        unique_by=lambda x: x[0],
    )
)
def test_a_match_is_the_best_candidate_and_has_no_rival(pairs: list[tuple[str, float]]) -> None:
    decision = decide([c(n, p) for n, p in pairs], T, Q)
    if decision.outcome is Outcome.MATCH:
        scores = dict(pairs)
        assert scores[decision.local_id or ""] >= T.match
        assert all(p < T.rival for n, p in pairs if n != decision.local_id)


BORN = date(1980, 3, 4)
ME = Facts(BORN, frozenset({"smith", "jones"}), frozenset({"LS1 4AB", "M1 1AA"}))


@pytest.mark.parametrize(
    ("record", "believed"),
    [
        (Facts(BORN, frozenset(), frozenset()), True),
        (Facts(None, frozenset({"jones"}), frozenset()), True),  # the former surname
        (Facts(None, frozenset(), frozenset({"M1 1AA"})), True),  # the previous address
        (Facts(date(1980, 4, 3), frozenset({"brown"}), frozenset({"B1 1AA"})), False),
        (Facts(None, frozenset(), frozenset()), False),
    ],
)
def test_a_strong_identifier_needs_one_more_agreeing_fact(record: Facts, believed: bool) -> None:
    assert corroborates(ME, record) is believed


def test_an_identity_without_facts_corroborates_nothing() -> None:
    nothing = Facts(None, frozenset(), frozenset())
    assert not corroborates(nothing, Facts(None, frozenset(), frozenset()))


AGREES = Facts(BORN, frozenset({"smith"}), frozenset())
DISAGREES = Facts(date(1999, 1, 1), frozenset({"brown"}), frozenset({"B1 1AA"}))


@pytest.mark.parametrize(
    ("holders", "expected"),
    [
        ([], NO_MATCH),
        ([("r1", AGREES)], Decision(Outcome.MATCH, "r1")),
        ([("r1", DISAGREES)], NO_MATCH),  # a mistyped identifier that is someone else's
        ([("r1", AGREES), ("r2", DISAGREES)], Decision(Outcome.MATCH, "r1")),
        ([("r1", AGREES), ("r2", AGREES)], NO_MATCH),  # a shared identifier settles nothing
        ([("r1", AGREES), ("r1", AGREES)], Decision(Outcome.MATCH, "r1")),
    ],
)
def test_the_answer_decides_alone(holders: list[tuple[str, Facts]], expected: Decision) -> None:
    assert decide_on_identifier(ME, holders) == expected
