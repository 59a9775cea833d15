"""Privacy criteria per equivalence class — k, ℓ (distinct, entropy) and t (EMD) — vectorised.

Everything here takes arrays and returns arrays: a table is rows with a class id, a weight (how
many records the row stands for) and the code of each sensitive attribute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

LVariant = Literal["distinct", "entropy"]
TDistance = Literal["equal", "ordered"]
EPSILON = 1e-9
DENSE_KEYS = 1 << 22


@dataclass(frozen=True)
class PrivacyModel:
    """k-anonymity, optionally with ℓ-diversity and t-closeness, and a suppression limit."""

    k: int = 1
    l: float | None = None  # noqa: E741 - the criterion is called ℓ everywhere
    l_variant: LVariant = "distinct"
    t: float | None = None
    t_distance: TDistance = "equal"
    suppression_limit: float = 0.0

    @property
    def monotone(self) -> bool:
        """Whether generalising never breaks the model (so lattice pruning is exact both ways)."""
        return self.t is None and (self.l is None or self.l_variant == "distinct")

    @property
    def k_floor(self) -> int:
        """Smallest class size the whole model implies: a monotone necessary condition."""
        needed = self.k
        if self.l is not None:
            needed = max(needed, math.ceil(self.l - EPSILON))
        return max(needed, 1)

    def allowed_suppressed(self, n_rows: int) -> int:
        return math.floor(self.suppression_limit * n_rows + EPSILON)


def combine(columns: list[np.ndarray], cards: list[int], n_rows: int) -> tuple[np.ndarray, int]:
    """One int64 key per row from code columns (mixed radix, re-ranked before overflow)."""
    key = np.zeros(n_rows, dtype=np.int64)
    card = 1
    for column, size in zip(columns, cards, strict=True):
        if card * max(size, 1) >= 2**62:
            _, key = np.unique(key, return_inverse=True)
            key = key.astype(np.int64)
            card = int(key.max()) + 1 if n_rows else 1
        key = key * size + column
        card *= max(size, 1)
    return key, card


def group(
    columns: list[np.ndarray], cards: list[int], n_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Group rows by their codes: (group id per row, index of one row per group).

    Groups are numbered in key order either way; a small key space is counted densely in
    O(rows + keys), a large one sorted.
    """
    key, card = combine(columns, cards, n_rows)
    if card <= max(DENSE_KEYS, 4 * n_rows):
        present = np.zeros(card, dtype=bool)
        present[key] = True
        lookup = np.cumsum(present, dtype=np.int64) - 1
        ids = lookup[key]
        first = np.empty(int(lookup[-1]) + 1 if card else 0, dtype=np.int64)
        first[ids] = np.arange(n_rows)
        return ids, first
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return inverse.astype(np.int64), first


def _pairs(
    classes: np.ndarray, codes: np.ndarray, weights: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (class, value) pairs sorted by class then value, with their weights."""
    key = classes * m + codes
    unique, inverse = np.unique(key, return_inverse=True)
    return unique // m, unique % m, np.bincount(inverse, weights=weights)


def distinct_values(
    classes: np.ndarray, codes: np.ndarray, weights: np.ndarray, m: int, n_classes: int
) -> np.ndarray:
    pair_class, _, _ = _pairs(classes, codes, weights, m)
    return np.bincount(pair_class, minlength=n_classes)


def entropies(
    classes: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    m: int,
    sizes: np.ndarray,
) -> np.ndarray:
    """Shannon entropy (natural log) of the sensitive values in each class."""
    pair_class, _, pair_weight = _pairs(classes, codes, weights, m)
    p = pair_weight / sizes[pair_class]
    return np.bincount(pair_class, weights=-p * np.log(p), minlength=len(sizes))


def emd_equal(
    classes: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    sizes: np.ndarray,
    reference: np.ndarray,
) -> np.ndarray:
    """Earth mover's distance with equal ground distance: half the L1 distance per class."""
    pair_class, pair_code, pair_weight = _pairs(classes, codes, weights, len(reference))
    p = pair_weight / sizes[pair_class]
    q = reference[pair_code]
    present = np.bincount(pair_class, weights=np.abs(p - q) - q, minlength=len(sizes))
    return 0.5 * (1.0 + present)


def emd_ordered(
    classes: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    sizes: np.ndarray,
    reference: np.ndarray,
) -> np.ndarray:
    """Ordered EMD, Σ|F_class − F_reference| / (m − 1), summed segment by segment in O(pairs)."""
    m = len(reference)
    n_classes = len(sizes)
    if m <= 1:
        return np.zeros(n_classes)
    f_ref = np.cumsum(reference)[:-1]
    prefix = np.concatenate([[0.0], np.cumsum(f_ref)])
    pair_class, pair_code, pair_weight = _pairs(classes, codes, weights, m)
    p = pair_weight / sizes[pair_class]
    cumulative = np.cumsum(p)
    starts = np.flatnonzero(np.r_[True, pair_class[1:] != pair_class[:-1]])
    offsets = np.repeat(np.r_[0.0, cumulative[starts[1:] - 1]], np.diff(np.r_[starts, len(p)]))
    c = cumulative - offsets
    last = np.r_[pair_class[1:] != pair_class[:-1], True]
    end = np.where(last, m - 1, np.r_[pair_code[1:], 0])
    a = pair_code
    j = np.clip(np.searchsorted(f_ref, c, side="left"), a, end)
    segment = c * (j - a) - (prefix[j] - prefix[a]) + (prefix[end] - prefix[j]) - c * (end - j)
    total = np.bincount(pair_class, weights=segment, minlength=n_classes)
    total[pair_class[starts]] += prefix[pair_code[starts]]
    return total / (m - 1)


@dataclass(frozen=True)
class Verdict:
    """Per class: its size, whether it meets the whole model, and whether it meets k_floor."""

    sizes: np.ndarray
    ok: np.ndarray
    k_ok: np.ndarray


def judge(
    model: PrivacyModel,
    classes: np.ndarray,
    n_classes: int,
    weights: np.ndarray,
    sensitive: list[np.ndarray],
    references: list[np.ndarray],
) -> Verdict:
    """Which classes may be released as they are and which must be suppressed."""
    sizes = np.bincount(classes, weights=weights, minlength=n_classes)
    k_ok = sizes >= model.k_floor - EPSILON
    ok = sizes >= model.k - EPSILON
    for codes, reference in zip(sensitive, references, strict=True):
        m = len(reference)
        if model.l is not None:
            if model.l_variant == "distinct":
                diversity = distinct_values(classes, codes, weights, m, n_classes)
                ok &= diversity >= model.l - EPSILON
            else:
                entropy = entropies(classes, codes, weights, m, sizes)
                ok &= entropy >= math.log(model.l) - EPSILON
        if model.t is not None:
            measure = emd_equal if model.t_distance == "equal" else emd_ordered
            ok &= measure(classes, codes, weights, sizes, reference) <= model.t + EPSILON
    return Verdict(sizes=sizes, ok=ok & k_ok, k_ok=k_ok)
