"""Differentially private statistics, every one an OpenDP measurement: no noise is drawn here.

Each query becomes an OpenDP chain (transformations then a noise mechanism) whose scale OpenDP's
binary search fits to the query's ε (and δ); the privacy spent is what OpenDP's own privacy map
reports, so a request is costed before it runs. Queries in one request compose sequentially:
their ε (and δ) add up, which is what the budget is charged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import opendp.prelude as dp
import pyarrow as pa
import pyarrow.compute as pc

from trusthub.release.schemas import DifferentialPrivacy, Query
from trusthub.release.sources import SpecError

dp.enable_features("contrib")

FLOATS = (dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.symmetric_distance())
TEXTS = (dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance())


@dataclass(frozen=True)
class Planned:
    """A query ready to run: its OpenDP measurement, its input, and what it will cost."""

    query: Query
    measurement: Any
    data: list[Any]
    epsilon: float
    delta: float
    labels: list[str] | None
    finish: Callable[[Any], Any]


def _noise(privacy: DifferentialPrivacy, epsilon: float, delta: float) -> Callable[[Any], Any]:
    """Build the last link of a chain for this model: Laplace, or Gaussian read as (ε, δ)-DP."""

    def attach(chain: Any) -> Callable[[float], Any]:
        if privacy.mechanism == "laplace":
            return lambda scale: chain >> dp.m.then_laplace(scale)
        return lambda scale: dp.c.make_fix_delta(
            dp.c.make_zCDP_to_approxDP(chain >> dp.m.then_gaussian(scale)), delta
        )

    def fit(chain: Any) -> Any:
        target: Any = epsilon if privacy.mechanism == "laplace" else (epsilon, delta)
        return dp.binary_search_chain(
            attach(chain), d_in=privacy.contributions, d_out=target, T=float
        )

    return fit


def _cost(measurement: Any, d_in: int) -> tuple[float, float]:
    spent = measurement.map(d_in)
    if isinstance(spent, tuple):
        return float(spent[0]), float(spent[1])
    return float(spent), 0.0


def _numbers(table: pa.Table, field: str) -> list[float]:
    column = table.column(field)
    try:
        numbers = pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise SpecError(f"field '{field}' is not numeric", field="privacy.queries") from error
    values = [v for v in numbers.to_pylist() if v is not None and not math.isnan(v)]
    return values


def _texts(table: pa.Table, field: str) -> list[str]:
    return ["" if v is None else str(v) for v in table.column(field).to_pylist()]


def _histogram_labels(query: Query) -> list[str]:
    if query.categories is not None:
        return [*query.categories, "(other)"]
    edges = query.edges or []
    inner = [f"{a:g} to under {b:g}" for a, b in pairwise(edges)]
    return [f"under {edges[0]:g}", *inner, f"{edges[-1]:g} or more"]


def plan_query(privacy: DifferentialPrivacy, query: Query, table: pa.Table) -> Planned:
    """Build one query's measurement; fails with a SpecError before anything is released."""
    if query.field is not None and query.field not in table.column_names:
        raise SpecError(f"unknown field '{query.field}' in a query", field="privacy.queries")
    eps, delta = query.epsilon, privacy.delta
    fit = _noise(privacy, eps, delta)
    d_in = privacy.contributions
    labels: list[str] | None = None
    finish: Callable[[Any], Any] = lambda value: value  # noqa: E731
    if query.statistic == "count":
        present = table.num_rows - (table.column(query.field).null_count if query.field else 0)
        data: list[Any] = [""] * present
        measurement = fit(TEXTS >> dp.t.then_count())
        finish = lambda value: max(int(value), 0)  # noqa: E731
    elif query.statistic == "sum":
        assert query.bounds is not None
        data = _numbers(table, query.field or "")
        measurement = fit(FLOATS >> dp.t.then_clamp(bounds=query.bounds) >> dp.t.then_sum())  # type: ignore[no-untyped-call]
    elif query.statistic == "mean":
        assert query.bounds is not None
        data = _numbers(table, query.field or "")
        half = _noise(privacy, eps / 2, delta / 2)
        total = half(FLOATS >> dp.t.then_clamp(bounds=query.bounds) >> dp.t.then_sum())  # type: ignore[no-untyped-call]
        count = half(FLOATS >> dp.t.then_count())
        measurement = dp.c.make_composition([total, count])
        low, high = query.bounds
        finish = lambda v: min(max(v[0] / max(v[1], 1), low), high)  # noqa: E731
    else:
        labels = _histogram_labels(query)
        metric = dp.L1Distance[int] if privacy.mechanism == "laplace" else dp.L2Distance[int]
        if query.categories is not None:
            data = _texts(table, query.field or "")
            chain = TEXTS >> dp.t.then_count_by_categories(categories=query.categories, MO=metric)
        else:
            data = _numbers(table, query.field or "")
            chain = (
                FLOATS
                >> dp.t.then_find_bin(edges=query.edges)  # type: ignore[no-untyped-call]
                >> dp.t.then_count_by_categories(
                    categories=list(range(len(labels))), null_category=False, MO=metric
                )
            )
        measurement = fit(chain)
        finish = lambda counts: [max(int(c), 0) for c in counts]  # noqa: E731
    epsilon, spent_delta = _cost(measurement, d_in)
    return Planned(query, measurement, data, epsilon, spent_delta, labels, finish)


def plan(privacy: DifferentialPrivacy, table: pa.Table) -> list[Planned]:
    return [plan_query(privacy, q, table) for q in privacy.queries]


def cost(planned: list[Planned]) -> tuple[float, float]:
    """Sequential composition: the ε and δ of the queries add up."""
    return sum(p.epsilon for p in planned), sum(p.delta for p in planned)


def run(planned: list[Planned]) -> list[dict[str, Any]]:
    """Invoke each measurement once; OpenDP draws the noise."""
    results = []
    for p in planned:
        value = p.finish(p.measurement(p.data))
        row: dict[str, Any] = {
            "statistic": p.query.statistic,
            "field": p.query.field,
            "epsilon": p.epsilon,
            "delta": p.delta,
        }
        if p.labels is not None:
            row["histogram"] = dict(zip(p.labels, value, strict=True))
        else:
            row["value"] = value
        results.append(row)
    return results
