"""Measure k, ℓ and t of a released table with plain Python, independent of trusthub.release."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence


def classes(rows: Sequence[Sequence[Hashable]]) -> dict[tuple[Hashable, ...], list[int]]:
    """Row indices grouped by their quasi-identifier values."""
    out: dict[tuple[Hashable, ...], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        out[tuple(row)].append(i)
    return out


def k_of(rows: Sequence[Sequence[Hashable]]) -> int:
    return min((len(v) for v in classes(rows).values()), default=0)


def l_distinct(rows: Sequence[Sequence[Hashable]], sensitive: Sequence[Hashable]) -> int:
    return min(len({sensitive[i] for i in members}) for members in classes(rows).values())


def l_entropy(rows: Sequence[Sequence[Hashable]], sensitive: Sequence[Hashable]) -> float:
    """exp of the smallest class entropy: the ℓ the table is entropy-ℓ-diverse for."""
    lowest = math.inf
    for members in classes(rows).values():
        counts = Counter(sensitive[i] for i in members)
        total = len(members)
        entropy = -sum(c / total * math.log(c / total) for c in counts.values())
        lowest = min(lowest, entropy)
    return math.exp(lowest)


def t_of(
    rows: Sequence[Sequence[Hashable]],
    sensitive: Sequence[Hashable],
    reference: Sequence[Hashable],
    ordered_values: Sequence[Hashable] | None = None,
) -> float:
    """Largest EMD between a class's distribution and the reference column's distribution.

    Equal ground distance (half the L1 distance) unless ``ordered_values`` gives the order, in
    which case the ordered distance Σ|cumulative difference| / (m − 1) is used.
    """
    ref_counts = Counter(reference)
    values = list(ordered_values) if ordered_values is not None else sorted(ref_counts, key=str)
    q = [ref_counts[v] / len(reference) for v in values]
    worst = 0.0
    for members in classes(rows).values():
        counts = Counter(sensitive[i] for i in members)
        p = [counts[v] / len(members) for v in values]
        if ordered_values is None:
            distance = 0.5 * sum(abs(a - b) for a, b in zip(p, q, strict=True))
        else:
            running, total = 0.0, 0.0
            for a, b in zip(p[:-1], q[:-1], strict=True):
                running += a - b
                total += abs(running)
            distance = total / (len(values) - 1) if len(values) > 1 else 0.0
        worst = max(worst, distance)
    return worst
