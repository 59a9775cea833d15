"""Evaluate lattice nodes on a frequency set: each distinct row of codes once, with its count.

The table is encoded once (one integer code per value, per quasi-identifier); a node's classes
are found by mapping codes up their hierarchies and grouping. A node is rolled up from the
smallest cached, less general node rather than from the base rows, as ARX does, so most
evaluations touch thousands of rows rather than millions.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from trusthub.release.criteria import PrivacyModel, Verdict, group, judge
from trusthub.release.hierarchy import Hierarchy
from trusthub.release.lattice import Node, Outcome

CACHE_BYTES = 768 * 2**20


@dataclass(frozen=True)
class Encoded:
    """A table reduced to codes: quasi-identifiers (base codes) and sensitive attributes."""

    hierarchies: list[Hierarchy]
    qi_codes: list[np.ndarray]
    sensitive_codes: list[np.ndarray]
    references: list[np.ndarray]

    @property
    def n_rows(self) -> int:
        if self.qi_codes:
            return len(self.qi_codes[0])
        if self.sensitive_codes:
            return len(self.sensitive_codes[0])
        return 0

    @property
    def heights(self) -> list[int]:
        return [h.height for h in self.hierarchies]


@dataclass(frozen=True)
class _Table:
    qi: list[np.ndarray]
    sensitive: list[np.ndarray]
    weights: np.ndarray

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (*self.qi, *self.sensitive, self.weights))


@dataclass(frozen=True)
class NodeClasses:
    """A node's classes over some table: the class of each table row and the verdict."""

    classes: np.ndarray
    verdict: Verdict
    suppressed_rows: np.ndarray


class Evaluator:
    """Answers ``Outcome`` for lattice nodes; holds the cache of rolled-up tables."""

    def __init__(self, encoded: Encoded, model: PrivacyModel) -> None:
        self.encoded = encoded
        self.model = model
        self.n_rows = encoded.n_rows
        self.allowed = model.allowed_suppressed(self.n_rows)
        self.q = len(encoded.hierarchies)
        self._m = [len(r) for r in encoded.references]
        base = self._group(
            [c.astype(np.int32) for c in encoded.qi_codes],
            [h.size for h in encoded.hierarchies],
            [c.astype(np.int32) for c in encoded.sensitive_codes],
            np.ones(self.n_rows, dtype=np.int64),
        )
        self.base: Node = tuple(0 for _ in encoded.hierarchies)
        self._cache: OrderedDict[Node, _Table] = OrderedDict({self.base: base})
        self._cache_bytes = base.nbytes
        self._cost = [[h.loss(level) for level in range(h.height + 1)] for h in encoded.hierarchies]
        self._level_loss = []
        for i, h in enumerate(encoded.hierarchies):
            counts = np.bincount(base.qi[i], weights=base.weights, minlength=h.size)
            per_level = [
                float(np.dot(counts, self._cost[i][lv][h.codes[lv]])) for lv in range(h.height + 1)
            ]
            self._level_loss.append(np.array(per_level) / max(self.n_rows, 1))
        self.evaluations = 0

    def _group(
        self,
        qi: list[np.ndarray],
        cards: list[int],
        sensitive: list[np.ndarray],
        weights: np.ndarray,
    ) -> _Table:
        n = len(weights)
        ids, first = group([*qi, *sensitive], [*cards, *self._m], n)
        return _Table(
            qi=[c[first] for c in qi],
            sensitive=[s[first] for s in sensitive],
            weights=np.bincount(ids, weights=weights).astype(np.int64),
        )

    def lower_bounds(self, nodes: np.ndarray) -> np.ndarray:
        """Loss if nothing were suppressed: mean per-cell loss, which only grows up the lattice."""
        if self.q == 0:
            return np.zeros(len(nodes))
        total = np.zeros(len(nodes))
        for i in range(self.q):
            total += self._level_loss[i][nodes[:, i]]
        return total / self.q

    def _rollup(self, node: Node) -> _Table:
        cached = self._cache.get(node)
        if cached is not None:
            self._cache.move_to_end(node)
            return cached
        source = min(
            (n for n in self._cache if all(a <= b for a, b in zip(n, node, strict=True))),
            key=lambda n: len(self._cache[n].weights),
        )
        table = self._cache[source]
        hierarchies = self.encoded.hierarchies
        qi = []
        for i, h in enumerate(hierarchies):
            if source[i] == node[i]:
                qi.append(table.qi[i])
            elif source[i] == 0:
                qi.append(h.codes[node[i]][table.qi[i]])
            else:
                qi.append(h.up(source[i], node[i])[table.qi[i]])
        cards = [h.cardinality(level) for h, level in zip(hierarchies, node, strict=True)]
        rolled = self._group(qi, cards, table.sensitive, table.weights)
        self._cache[node] = rolled
        self._cache_bytes += rolled.nbytes
        while self._cache_bytes > CACHE_BYTES and len(self._cache) > 2:
            oldest = next(n for n in self._cache if n != self.base)
            self._cache_bytes -= self._cache.pop(oldest).nbytes
        return rolled

    def classes_of(
        self,
        node: Node,
        qi: list[np.ndarray],
        sensitive: list[np.ndarray],
        weights: np.ndarray,
        *,
        distinct: bool = False,
    ) -> NodeClasses:
        """Group rows (already at the node's levels) into classes and judge each class."""
        if distinct and not sensitive:
            classes, n_classes = np.arange(len(weights), dtype=np.int64), len(weights)
        else:
            hierarchies = self.encoded.hierarchies
            cards = [h.cardinality(level) for h, level in zip(hierarchies, node, strict=True)]
            classes, first = group(qi, cards, len(weights))
            n_classes = len(first)
        verdict = judge(self.model, classes, n_classes, weights, sensitive, self.encoded.references)
        return NodeClasses(classes=classes, verdict=verdict, suppressed_rows=~verdict.ok[classes])

    def loss(self, node: Node, qi: list[np.ndarray], weights: np.ndarray, out: np.ndarray) -> float:
        """Iyengar's loss with suppressed cells counted as fully generalised (loss 1)."""
        if self.q == 0 or self.n_rows == 0:
            return float(out.any())
        bound = float(self.lower_bounds(np.array([node]))[0])
        if not out.any():
            return bound
        extra = np.zeros(int(out.sum()))
        for i in range(self.q):
            extra += 1.0 - self._cost[i][node[i]][qi[i][out]]
        return bound + float(np.dot(weights[out], extra)) / (self.n_rows * self.q)

    def evaluate(self, node: Node) -> Outcome:
        self.evaluations += 1
        table = self._rollup(node)
        found = self.classes_of(node, table.qi, table.sensitive, table.weights, distinct=True)
        sizes, verdict = found.verdict.sizes, found.verdict
        suppressed = int(sizes[~verdict.ok].sum())
        k_suppressed = int(sizes[~verdict.k_ok].sum())
        anonymous = suppressed <= self.allowed
        monotone_ok = anonymous if self.model.monotone else k_suppressed <= self.allowed
        return Outcome(
            anonymous=anonymous,
            monotone_ok=monotone_ok,
            loss=self.loss(node, table.qi, table.weights, found.suppressed_rows)
            if anonymous
            else float("inf"),
            suppressed=suppressed,
        )

    def rows_at(self, node: Node) -> tuple[list[np.ndarray], NodeClasses]:
        """Every record's codes at ``node`` and its class: what the released table is made of."""
        qi = [
            h.codes[level][codes]
            for h, level, codes in zip(
                self.encoded.hierarchies, node, self.encoded.qi_codes, strict=True
            )
        ]
        weights = np.ones(self.n_rows, dtype=np.int64)
        found = self.classes_of(node, qi, list(self.encoded.sensitive_codes), weights)
        return qi, found
