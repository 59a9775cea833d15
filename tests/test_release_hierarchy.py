"""Built-in generalisation hierarchies: bands, dates, postcodes and CSV trees, table-tested."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.release import hierarchy as h


def _labels(hierarchy: h.Hierarchy, index: int) -> list[str]:
    return [hierarchy.labels[lv][hierarchy.codes[lv][index]] for lv in range(hierarchy.height + 1)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (39, ["39", "35-39", "30-39", "20-39", "*"]),
        (40, ["40", "40-44", "40-49", "40-59", "*"]),
        (0, ["0", "0-4", "0-9", "0-19", "*"]),
        ("17", ["17", "15-19", "10-19", "0-19", "*"]),
        (None, ["(missing)", "(missing)", "(missing)", "(missing)", "*"]),
    ],
)
def test_age_bands(value: object, expected: list[str]) -> None:
    hierarchy = h.intervals([value, 1], [5, 10, 20])
    assert _labels(hierarchy, 0) == expected


def test_bands_must_nest_and_values_must_be_numbers() -> None:
    with pytest.raises(h.HierarchyError, match="nest"):
        h.intervals([1], [5, 12])
    with pytest.raises(h.HierarchyError, match="1 distinct value"):
        h.intervals([1, "forty"], [5])


@pytest.mark.parametrize(
    ("value", "levels", "expected"),
    [
        (date(2017, 2, 14), ("month", "quarter", "year"), ["2017-02", "2017-Q1", "2017"]),
        ("2016-11-30", ("month", "quarter", "year"), ["2016-11", "2016-Q4", "2016"]),
        ("2016-11-30", ("quarter", "year"), ["2016-Q4", "2016"]),
        ("2016-07-01", ("year",), ["2016"]),
    ],
)
def test_dates(value: object, levels: tuple[str, ...], expected: list[str]) -> None:
    hierarchy = h.dates([value], levels)
    assert _labels(hierarchy, 0)[1:] == [*expected, "*"]


def test_date_levels_must_be_in_order() -> None:
    with pytest.raises(h.HierarchyError, match="in that order"):
        h.dates(["2016-01-01"], ("year", "month"))
    with pytest.raises(h.HierarchyError, match="ISO dates"):
        h.dates(["14/02/2017"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("SW1A 2AA", ["SW1A 2", "SW1A", "SW", "*"]),
        ("m11ae", ["M1 1", "M1", "M", "*"]),
        ("EC1V 2PD", ["EC1V 2", "EC1V", "EC", "*"]),
    ],
)
def test_postcodes_climb_sector_district_area(value: str, expected: list[str]) -> None:
    assert _labels(h.postcodes([value]), 0)[1:] == expected


def test_a_postcode_that_cannot_exist_is_not_covered() -> None:
    with pytest.raises(h.HierarchyError, match="UK postcodes"):
        h.postcodes(["SW1A 2AA", "QQ1 1QQ"])


def test_tree_from_rows_and_coverage() -> None:
    rows = [["Bachelors", "Undergraduate", "*"], ["Masters", "Graduate", "*"]]
    tree = h.tree(["Masters", "Bachelors"], rows)
    assert _labels(tree, 0) == ["Masters", "Graduate", "*"]
    with pytest.raises(h.HierarchyError, match="1 distinct value"):
        h.tree(["Masters", "Doctorate"], rows)


def test_a_tree_whose_levels_do_not_nest_is_refused() -> None:
    rows = [["a", "x", "p"], ["b", "x", "q"]]
    with pytest.raises(h.HierarchyError, match="do not nest"):
        h.tree(["a", "b"], rows)


def test_loss_counts_the_values_a_group_holds() -> None:
    tree = h.tree(["a", "b", "c"], [["a", "x", "*"], ["b", "x", "*"], ["c", "y", "*"]])
    assert list(tree.loss(0)) == [0, 0, 0]
    assert sorted(tree.loss(1)) == [0.0, 0.5]
    assert list(tree.loss(2)) == [1.0]


@given(st.lists(st.integers(0, 120), min_size=1, max_size=40))
def test_bands_always_nest(ages: list[int]) -> None:
    hierarchy = h.intervals(ages, [5, 10, 20])
    for level in range(hierarchy.height):
        up = hierarchy.up(level, level + 1)
        assert (up[hierarchy.codes[level]] == hierarchy.codes[level + 1]).all()
