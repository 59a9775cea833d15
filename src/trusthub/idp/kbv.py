"""Knowledge-based verification from the records the demo world holds on a person — pure.

Each question comes from one fact a record holds (a postcode lived at, an employer, a benefit,
a council tax band, a licence's expiry year, a bank product), offered among plausible wrong
answers drawn from the same kind of value. Scoring follows GPG 45's verification score in a
demo's simple form: all questions right, with at least two from organisations' records, is 3;
all but one right is 2; otherwise 0.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

OPTIONS = 4
QUESTIONS = 4
NONE_OF_THESE = "None of these"


@dataclass(frozen=True)
class Fact:
    """Something true about the person, and the pool its wrong answers come from."""

    kind: str
    prompt: str
    answer: str
    pool: tuple[str, ...]
    from_records: bool = True
    """False for what the person could have told us (an address they typed)."""


@dataclass(frozen=True)
class Question:
    id: str
    prompt: str
    options: tuple[str, ...]
    answer: str
    from_records: bool


def questions(facts: Sequence[Fact], seed: int, count: int = QUESTIONS) -> tuple[Question, ...]:
    """Up to ``count`` questions, one per kind of fact, options shuffled reproducibly by seed."""
    rng = random.Random(seed)
    by_kind: dict[str, Fact] = {}
    for fact in facts:
        by_kind.setdefault(fact.kind, fact)
    chosen = sorted(by_kind.values(), key=lambda f: (not f.from_records, f.kind))[:count]
    made = []
    for index, fact in enumerate(chosen):
        wrong = sorted({v for v in fact.pool if v and v != fact.answer})
        picks = rng.sample(wrong, min(OPTIONS - 1, len(wrong)))
        options = [fact.answer, *picks]
        rng.shuffle(options)
        made.append(
            Question(
                f"q{index}", fact.prompt, (*options, NONE_OF_THESE), fact.answer, fact.from_records
            )
        )
    return tuple(made)


def verification_score(asked: Sequence[Question], answers: Mapping[str, str]) -> int:
    """GPG 45 verification from KBV: 3 all right (2+ from records), 2 one wrong, else 0."""
    if len(asked) < 3:
        return 0
    right = [q for q in asked if answers.get(q.id) == q.answer]
    from_records = sum(1 for q in right if q.from_records)
    if len(right) == len(asked) and from_records >= 2:
        return 3
    if len(right) >= len(asked) - 1:
        return 2
    return 0
