"""The globally optimal search over the generalisation lattice, after ARX's Flash.

A node is one generalisation level per quasi-identifier. Two facts make the search exact and
fast. Anonymity under a suppression limit is monotone for k-anonymity and distinct ℓ-diversity:
if a node passes, every more general node passes, and if it fails, every less general one fails;
for entropy-ℓ and t-closeness only the implied minimum class size is monotone, so it prunes and
each remaining node is checked in full. And the information loss of a node is never below a lower
bound that grows with every level, so once the bound reaches the best loss found, no node left
can beat it. Flash's greedy paths with binary search classify the lattice from few evaluations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Node = tuple[int, ...]
MAX_NODES = 5_000_000
TOLERANCE = 1e-12


@dataclass(frozen=True)
class Outcome:
    """What evaluating one node on the data says."""

    anonymous: bool
    monotone_ok: bool
    loss: float
    suppressed: int


@dataclass(frozen=True)
class SearchResult:
    node: Node | None
    loss: float
    outcome: Outcome | None
    evaluated: int
    lattice_size: int


def lattice(heights: Sequence[int]) -> np.ndarray:
    """Every node, one row each, in C order so a node's index is its mixed-radix number."""
    size = int(np.prod([h + 1 for h in heights], dtype=np.int64)) if heights else 1
    if size > MAX_NODES:
        raise ValueError(
            f"the lattice has {size:,} nodes (limit {MAX_NODES:,}): use fewer quasi-identifiers "
            "or fewer hierarchy levels"
        )
    if not heights:
        return np.zeros((1, 0), dtype=np.int16)
    grid = np.indices([h + 1 for h in heights], dtype=np.int16)
    return grid.reshape(len(heights), -1).T.copy()


def _better(loss: float, node: Node, best_loss: float, best: Node | None) -> bool:
    """Lower loss wins; ties go to the lower, then lexicographically smaller, node."""
    if best is None or loss < best_loss - TOLERANCE:
        return True
    if loss > best_loss + TOLERANCE:
        return False
    return (sum(node), node) < (sum(best), best)


def optimal(
    heights: Sequence[int],
    lower_bound: Callable[[np.ndarray], np.ndarray],
    evaluate: Callable[[Node], Outcome],
) -> SearchResult:
    """The anonymous node of least loss; ``lower_bound`` must never exceed a node's loss."""
    nodes = lattice(heights)
    size = len(nodes)
    strides = np.array(
        [int(np.prod([h + 1 for h in heights[i + 1 :]])) for i in range(len(heights))],
        dtype=np.int64,
    )
    bounds = np.asarray(lower_bound(nodes), dtype=np.float64)
    status = np.zeros(size, dtype=np.int8)  # 1 passes the monotone test, -1 fails it
    outcomes: dict[int, Outcome] = {}
    best: Node | None = None
    best_loss = np.inf
    top = np.array(heights, dtype=np.int16)

    def visit(index: int) -> Outcome:
        nonlocal best, best_loss
        outcome = evaluate(tuple(int(v) for v in nodes[index]))
        outcomes[index] = outcome
        unknown = status == 0
        if outcome.monotone_ok:
            status[unknown & (nodes >= nodes[index]).all(axis=1)] = 1
        else:
            status[unknown & (nodes <= nodes[index]).all(axis=1)] = -1
        status[index] = 1 if outcome.monotone_ok else -1
        node = tuple(int(v) for v in nodes[index])
        if outcome.anonymous and _better(outcome.loss, node, best_loss, best):
            best, best_loss = node, outcome.loss
        return outcome

    def open_(index: int) -> bool:
        return bool(status[index] == 0 and bounds[index] <= best_loss + TOLERANCE)

    order = np.lexsort((nodes.sum(axis=1), bounds))
    for start in order:
        if not open_(int(start)):
            continue
        path = [int(start)]
        current = nodes[start]
        while True:
            candidates = [
                int(path[-1] + strides[i])
                for i in range(len(heights))
                if current[i] < top[i] and open_(int(path[-1] + strides[i]))
            ]
            if not candidates:
                break
            step = min(candidates, key=lambda c: (bounds[c], c))
            path.append(step)
            current = nodes[step]
        low, high = 0, len(path) - 1
        while low <= high:
            middle = (low + high) // 2
            index = path[middle]
            passed = status[index] == 1 if status[index] != 0 else visit(index).monotone_ok
            if passed:
                high = middle - 1
            else:
                low = middle + 1

    for index in np.argsort(bounds, kind="stable"):
        if bounds[index] > best_loss + TOLERANCE:
            break
        if status[index] == 1 and int(index) not in outcomes:
            visit(int(index))

    outcome = None
    if best is not None:
        outcome = outcomes[int(np.dot(np.array(best, dtype=np.int64), strides))]
    return SearchResult(
        node=best,
        loss=float(best_loss),
        outcome=outcome,
        evaluated=len(outcomes),
        lattice_size=size,
    )
