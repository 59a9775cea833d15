"""The lattice search: optimal on small lattices, checked exhaustively; the model always holds."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from release_measure import k_of, l_distinct, l_entropy, t_of
from trusthub.release.criteria import PrivacyModel
from trusthub.release.frequency import Encoded, Evaluator
from trusthub.release.hierarchy import from_levels
from trusthub.release.lattice import lattice, optimal


@dataclass(frozen=True)
class Case:
    rows: list[list[int]]  # per row, the base value of each quasi-identifier
    levels: list[list[list[str]]]  # per QI, per base value, its label at each level
    sensitive: list[int]
    model: PrivacyModel


@st.composite
def hierarchies(draw: st.DrawFn) -> list[list[str]]:
    """A random nested hierarchy over 1–5 values, 1–3 levels above the values."""
    size = draw(st.integers(1, 5))
    height = draw(st.integers(1, 3))
    groups = list(range(size))
    rows = [[f"v{v}"] for v in range(size)]
    for level in range(1, height + 1):
        if level == height:
            merged = {g: 0 for g in set(groups)}
        else:
            distinct = sorted(set(groups))
            targets = draw(
                st.lists(
                    st.integers(0, max(len(distinct) - 1, 0)),
                    min_size=len(distinct),
                    max_size=len(distinct),
                )
            )
            merged = dict(zip(distinct, targets, strict=True))
        groups = [merged[g] for g in groups]
        for v in range(size):
            rows[v].append("*" if level == height else f"L{level}g{groups[v]}")
    return rows


@st.composite
def cases(draw: st.DrawFn) -> Case:
    q = draw(st.integers(1, 3))
    levels = [draw(hierarchies()) for _ in range(q)]
    n = draw(st.integers(1, 30))
    rows = [[draw(st.integers(0, len(levels[i]) - 1)) for i in range(q)] for _ in range(n)]
    sensitive = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    l_kind: Literal["distinct", "entropy"] | None = draw(
        st.sampled_from([None, "distinct", "entropy"])
    )
    t_kind: Literal["equal", "ordered"] | None = draw(st.sampled_from([None, "equal", "ordered"]))
    model = PrivacyModel(
        k=draw(st.integers(1, 4)),
        l=draw(st.sampled_from([1.5, 2.0, 3.0])) if l_kind else None,
        l_variant=l_kind or "distinct",
        t=draw(st.sampled_from([0.2, 0.4, 0.7])) if t_kind else None,
        t_distance=t_kind or "equal",
        suppression_limit=draw(st.sampled_from([0.0, 0.1, 0.3])),
    )
    return Case(rows=rows, levels=levels, sensitive=sensitive, model=model)


def _encoded(case: Case) -> Encoded:
    hs = [from_levels(levels) for levels in case.levels]
    qi = [np.array([r[i] for r in case.rows], dtype=np.int32) for i in range(len(hs))]
    m = 4
    codes = np.array(case.sensitive, dtype=np.int32)
    uses = case.model.l is not None or case.model.t is not None
    reference = np.bincount(codes, minlength=m) / len(codes)
    return Encoded(hs, qi, [codes] if uses else [], [reference] if uses else [])


def _class_ok(model: PrivacyModel, values: list[int], everything: list[int]) -> bool:
    """One class against the model, written out plainly."""
    if len(values) < model.k:
        return False
    if model.l is not None:
        counts = Counter(values)
        if model.l_variant == "distinct" and len(counts) < model.l - 1e-9:
            return False
        if model.l_variant == "entropy":
            entropy = -sum(c / len(values) * math.log(c / len(values)) for c in counts.values())
            if entropy < math.log(model.l) - 1e-9:
                return False
        if len(values) < math.ceil(model.l - 1e-9):
            return False
    if model.t is not None:
        ordered = list(range(4)) if model.t_distance == "ordered" else None
        rows = [[0]] * len(values)
        if t_of(rows, values, everything, ordered) > model.t + 1e-9:
            return False
    return True


def _naive(case: Case) -> tuple[float, tuple[int, ...]] | None:
    """Every node of the lattice, judged and costed from scratch: the reference answer."""
    heights = [len(levels[0]) - 1 for levels in case.levels]
    n, q = len(case.rows), len(case.levels)
    allowed = math.floor(case.model.suppression_limit * n + 1e-9)
    best: tuple[float, tuple[int, ...]] | None = None
    for node in itertools.product(*[range(h + 1) for h in heights]):
        keys = [tuple(case.levels[i][r[i]][node[i]] for i in range(q)) for r in case.rows]
        members: dict[tuple[str, ...], list[int]] = {}
        for index, key in enumerate(keys):
            members.setdefault(key, []).append(index)
        suppressed = set()
        for rows in members.values():
            if not _class_ok(case.model, [case.sensitive[i] for i in rows], case.sensitive):
                suppressed.update(rows)
        if len(suppressed) > allowed:
            continue
        total = 0.0
        for index, row in enumerate(case.rows):
            for i in range(q):
                if index in suppressed:
                    total += 1.0
                    continue
                label = case.levels[i][row[i]][node[i]]
                grouped = sum(1 for v in case.levels[i] if v[node[i]] == label)
                domain = len(case.levels[i])
                total += (grouped - 1) / (domain - 1) if domain > 1 else 0.0
        loss = total / (n * q)
        if best is None or loss < best[0] - 1e-12:
            best = (loss, node)
    return best


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_search_finds_the_optimum_of_every_small_lattice(case: Case) -> None:
    encoded = _encoded(case)
    evaluator = Evaluator(encoded, case.model)
    result = optimal(encoded.heights, evaluator.lower_bounds, evaluator.evaluate)
    expected = _naive(case)
    if expected is None:
        assert result.node is None
        return
    assert result.node is not None
    assert math.isclose(result.loss, expected[0], abs_tol=1e-9)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_chosen_generalisation_satisfies_the_model(case: Case) -> None:
    encoded = _encoded(case)
    evaluator = Evaluator(encoded, case.model)
    result = optimal(encoded.heights, evaluator.lower_bounds, evaluator.evaluate)
    if result.node is None:
        return
    _, found = evaluator.rows_at(result.node)
    kept = [i for i in range(len(case.rows)) if not found.suppressed_rows[i]]
    allowed = math.floor(case.model.suppression_limit * len(case.rows) + 1e-9)
    assert len(case.rows) - len(kept) <= allowed
    if not kept:
        return
    released = [
        [case.levels[i][case.rows[r][i]][result.node[i]] for i in range(len(case.levels))]
        for r in kept
    ]
    values = [case.sensitive[r] for r in kept]
    model = case.model
    assert k_of(released) >= model.k
    if model.l is not None and model.l_variant == "distinct":
        assert l_distinct(released, values) >= model.l
    if model.l is not None and model.l_variant == "entropy":
        assert l_entropy(released, values) >= model.l - 1e-9
    if model.t is not None:
        ordered = list(range(4)) if model.t_distance == "ordered" else None
        assert t_of(released, values, case.sensitive, ordered) <= model.t + 1e-9


@given(st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_the_lattice_enumerates_every_node_once(heights: list[int]) -> None:
    nodes = lattice(heights)
    assert len({tuple(n) for n in nodes}) == len(nodes) == math.prod(h + 1 for h in heights)
