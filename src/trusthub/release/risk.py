"""Re-identification risk and information loss of a released table: pure, from class sizes.

Prosecutor: the attacker knows their target is in the release (risk 1/f for a class of size f).
Journalist: the attacker knows only that the target is in the population, so the risk is 1/F
for the class's size F in the population, taken to be the whole source table. Marketer: the
expected share of released records re-identified when the attacker links them all, Σ f/F over n
(El Emam and Dankar, 2008).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Thresholds:
    prosecutor_max: float
    journalist_max: float
    marketer_max: float
    suppression_limit: float


def size_histogram(sizes: np.ndarray) -> list[dict[str, int]]:
    """Classes and records by class size, in powers-of-two bands: the report's first chart."""
    if len(sizes) == 0:
        return []
    bands: list[dict[str, int]] = []
    low = 1
    top = int(sizes.max())
    while low <= top:
        high = low * 2 - 1
        inside = (sizes >= low) & (sizes <= high)
        if inside.any():
            bands.append(
                {
                    "from": low,
                    "to": high,
                    "classes": int(inside.sum()),
                    "records": int(sizes[inside].sum()),
                }
            )
        low *= 2
    return bands


def risks(released_sizes: np.ndarray, population_sizes: np.ndarray) -> dict[str, dict[str, float]]:
    """Highest and average risk under the prosecutor, journalist and marketer models."""
    n = float(released_sizes.sum())
    if n == 0:
        zero = {"highest": 0.0, "average": 0.0, "records_at_highest": 0.0}
        return {"prosecutor": zero, "journalist": zero, "marketer": {"average": 0.0}}
    smallest = released_sizes.min()
    share = float(released_sizes[released_sizes == smallest].sum()) / n
    population = np.maximum(population_sizes, released_sizes)
    smallest_population = population.min()
    share_population = float(released_sizes[population == smallest_population].sum()) / n
    return {
        "prosecutor": {
            "highest": float(1.0 / smallest),
            "average": float(len(released_sizes) / n),
            "records_at_highest": share,
        },
        "journalist": {
            "highest": float(1.0 / smallest_population),
            "average": float((released_sizes / population).sum() / n),
            "records_at_highest": share_population,
        },
        "marketer": {"average": float((released_sizes / population).sum() / n)},
    }


def information_loss(
    loss: float,
    levels: list[int],
    heights: list[int],
    released_sizes: np.ndarray,
    n_source: int,
    suppressed: int,
    k: int,
) -> dict[str, float]:
    """The stated measure (loss) beside precision, discernibility and the average class size."""
    n_released = float(released_sizes.sum())
    generalised = [lv / h if h else 0.0 for lv, h in zip(levels, heights, strict=True)]
    mean_generalised = sum(generalised) / len(generalised) if generalised else 0.0
    precision = (n_released * mean_generalised + suppressed) / n_source if n_source else 0.0
    discernibility = float((released_sizes.astype(np.float64) ** 2).sum() + suppressed * n_source)
    classes = len(released_sizes)
    average_class = (n_released / classes) / k if classes else math.inf
    return {
        "loss": float(loss),
        "precision": float(precision),
        "discernibility": discernibility,
        "average_class_size_ratio": float(average_class),
    }


def checks(
    measured_risk: dict[str, dict[str, float]],
    suppressed_fraction: float,
    model_holds: bool,
    thresholds: Thresholds,
) -> list[dict[str, Any]]:
    """The tests a release must pass before it may be published."""
    rows = [
        ("model holds on the released table", 1.0 if model_holds else 0.0, 1.0, model_holds),
        (
            "highest prosecutor risk",
            measured_risk["prosecutor"]["highest"],
            thresholds.prosecutor_max,
            None,
        ),
        (
            "highest journalist risk",
            measured_risk["journalist"]["highest"],
            thresholds.journalist_max,
            None,
        ),
        ("marketer risk", measured_risk["marketer"]["average"], thresholds.marketer_max, None),
        ("suppressed records", suppressed_fraction, thresholds.suppression_limit, None),
    ]
    out = []
    for name, value, limit, verdict in rows:
        passed = verdict if verdict is not None else value <= limit + 1e-12
        out.append({"name": name, "value": value, "limit": limit, "passed": bool(passed)})
    return out
