"""Generalisation hierarchies over the values a column holds: pure, so every rule is table-tested.

A hierarchy maps each distinct value of a quasi-identifier (its *base code*) to a code at every
level, level 0 being the value itself and the top level usually ``*``. Levels must nest: two
values that share a group at one level share it at every higher level, which is what makes
k-anonymity monotone over the lattice. Errors name the rule broken and how many values break
it, never the values, because the values are personal data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import pairwise
from typing import Any

import numpy as np

from trusthub.identifiers import InvalidIdentifier, parse_postcode

TOP = "*"
MISSING = "(missing)"
DATE_LEVELS = ("month", "quarter", "year")


class HierarchyError(ValueError):
    """A hierarchy that cannot generalise the data as given; the message says what to fix."""


@dataclass(frozen=True)
class Hierarchy:
    """Per level, the code of every base value and the label of every code."""

    codes: tuple[np.ndarray, ...]
    labels: tuple[tuple[str, ...], ...]
    leaf_counts: tuple[np.ndarray, ...] = field(repr=False)

    @property
    def height(self) -> int:
        return len(self.codes) - 1

    @property
    def size(self) -> int:
        return len(self.codes[0])

    def cardinality(self, level: int) -> int:
        return len(self.labels[level])

    def up(self, low: int, high: int) -> np.ndarray:
        """Codes at ``high`` for each code at ``low``: valid because the levels nest."""
        table = np.zeros(self.cardinality(low), dtype=np.int32)
        table[self.codes[low]] = self.codes[high]
        return table

    def loss(self, level: int) -> np.ndarray:
        """Iyengar's loss per code at ``level``: (values grouped - 1) / (values in domain - 1)."""
        if self.size <= 1:
            return np.zeros(self.cardinality(level))
        return (self.leaf_counts[level] - 1) / (self.size - 1)


def from_levels(rows: Sequence[Sequence[str]]) -> Hierarchy:
    """Build a hierarchy from one row of labels per base value (level 0 first); check nesting."""
    if not rows:
        raise HierarchyError("the column has no values to generalise")
    height = len(rows[0]) - 1
    if any(len(r) != height + 1 for r in rows):
        raise HierarchyError("every value must have the same number of levels")
    codes: list[np.ndarray] = []
    labels: list[tuple[str, ...]] = []
    for level in range(height + 1):
        index: dict[str, int] = {}
        column = np.empty(len(rows), dtype=np.int32)
        for i, row in enumerate(rows):
            column[i] = index.setdefault(row[level], len(index))
        codes.append(column)
        labels.append(tuple(index))
    for level in range(height):
        parent = np.full(len(labels[level]), -1, dtype=np.int64)
        low, high = codes[level], codes[level + 1]
        parent[low] = high
        if np.any(parent[low] != high):
            raise HierarchyError(
                f"levels {level} and {level + 1} do not nest: a group at level {level} "
                f"must generalise to exactly one group at level {level + 1}"
            )
    leaf_counts = tuple(
        np.bincount(c, minlength=len(lab)) for c, lab in zip(codes, labels, strict=True)
    )
    return Hierarchy(codes=tuple(codes), labels=tuple(labels), leaf_counts=leaf_counts)


def _label(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _build(
    values: Sequence[Any],
    generalise: Callable[[Any], list[str]],
    what: str,
) -> Hierarchy:
    """Apply a per-value rule; missing values stay a group of their own below the top."""
    rows: list[list[str]] = []
    uncovered = 0
    width = 0
    pending: list[int] = []
    for value in values:
        if value is None:
            pending.append(len(rows))
            rows.append([])
            continue
        try:
            levels = generalise(value)
        except (ValueError, TypeError, InvalidIdentifier):
            uncovered += 1
            continue
        width = len(levels)
        rows.append([_label(value), *levels])
    if uncovered:
        raise HierarchyError(f"{uncovered} distinct value(s) are not {what}")
    for i in pending:
        rows[i] = [MISSING] * width + [TOP]
    return from_levels(rows)


def tree(values: Sequence[Any], table: Sequence[Sequence[str]]) -> Hierarchy:
    """A category tree like ARX's CSV hierarchies: each row is a value then ever coarser groups."""
    lookup: dict[str, Sequence[str]] = {}
    for row in table:
        if row:
            lookup.setdefault(row[0].strip(), [c.strip() for c in row])
    missing = sum(1 for v in values if ("" if v is None else _label(v)) not in lookup)
    if missing:
        raise HierarchyError(
            f"{missing} distinct value(s) of the column have no row in the hierarchy; "
            "add a row for each (its first column is the value as it appears in the data)"
        )
    rows = [list(lookup["" if v is None else _label(v)]) for v in values]
    return from_levels(rows)


def _as_number(value: Any) -> float:
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise ValueError("not a finite number")
    return number


def intervals(values: Sequence[Any], widths: Sequence[int], *, origin: int = 0) -> Hierarchy:
    """Numeric bands (e.g. ages in 5, 10 and 20 years) anchored at ``origin``, then ``*``."""
    if not widths or any(w < 1 for w in widths):
        raise HierarchyError("band widths must be positive whole numbers")
    for narrow, wide in pairwise(widths):
        if wide % narrow:
            raise HierarchyError(f"band widths must nest: {wide} is not a multiple of {narrow}")

    def generalise(value: Any) -> list[str]:
        number = _as_number(value)
        out = []
        for width in widths:
            start = math.floor((number - origin) / width) * width + origin
            out.append(f"{start}-{start + width - 1}")
        return [*out, TOP]

    return _build(values, generalise, "numbers")


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip()[:10])


def dates(values: Sequence[Any], levels: Sequence[str] = DATE_LEVELS) -> Hierarchy:
    """Day, then month, quarter and year (any of them, in that order), then ``*``."""
    unknown = [lv for lv in levels if lv not in DATE_LEVELS]
    if unknown or list(levels) != sorted(levels, key=DATE_LEVELS.index) or not levels:
        raise HierarchyError("date levels are some of month, quarter, year, in that order")

    def generalise(value: Any) -> list[str]:
        day = _as_date(value)
        parts = {
            "month": f"{day.year:04d}-{day.month:02d}",
            "quarter": f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}",
            "year": f"{day.year:04d}",
        }
        return [*(parts[lv] for lv in levels), TOP]

    return _build(values, generalise, "ISO dates (YYYY-MM-DD)")


def postcodes(values: Sequence[Any]) -> Hierarchy:
    """UK postcode unit, then sector, district and area, then ``*``."""

    def generalise(value: Any) -> list[str]:
        code = parse_postcode(str(value))
        return [code.sector, code.district, code.area, TOP]

    hierarchy = _build(values, generalise, "UK postcodes")
    return hierarchy


def suppress_only(values: Sequence[Any]) -> Hierarchy:
    """The value, then ``*``: for quasi-identifiers that can only be kept or hidden."""
    return _build(values, lambda _v: [TOP], "values")
