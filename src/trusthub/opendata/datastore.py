"""datastore_search as SQL, pure: CKAN's parameters in, one parameterised DuckDB query out.

Column names are checked against the table and quoted; every value is a bound parameter, so a
filter can never become SQL. Range filters (``{"date": {"gte": "2015-01-01"}}``) are a TrustHub
extension: CKAN's filters only match equal values or lists of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from trusthub.opendata.storage import ROW_ID, TABLE, Column, quote_identifier

RANGE_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
SORT_ITEM = re.compile(
    r'^\s*(?:"(?P<quoted>[^"]+)"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))'
    r"(?:\s+(?P<direction>asc|desc))?(?:\s+nulls\s+(?P<nulls>first|last))?\s*$",
    re.IGNORECASE,
)
TEXT_TYPES = ("VARCHAR",)


class SearchError(ValueError):
    """A parameter CKAN would reject, named so that the API can say which."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class SearchRequest:
    filters: dict[str, Any] = field(default_factory=dict)
    q: str | dict[str, str] = ""
    distinct: bool = False
    fields: Sequence[str] = ()
    sort: str = ""
    limit: int = 100
    offset: int = 0
    include_total: bool = True


@dataclass(frozen=True)
class SearchPlan:
    sql: str
    params: list[Any]
    count_sql: str | None
    count_params: list[Any]
    columns: list[Column]
    limit: int


def _cast(column: Column) -> str:
    return f"CAST(? AS {column.type})"


def _filter(column: Column, value: Any) -> tuple[str, list[Any]]:
    name = quote_identifier(column.name)
    if value is None:
        return f"{name} IS NULL", []
    if isinstance(value, list):
        if not value:
            return "FALSE", []
        if any(isinstance(v, dict | list) for v in value):
            raise SearchError("filters", f"the values for '{column.name}' must be plain values")
        marks = ", ".join(_cast(column) for _ in value)
        return f"{name} IN ({marks})", [str(v) for v in value]
    if isinstance(value, dict):
        unknown = set(value) - set(RANGE_OPERATORS)
        if unknown or not value:
            raise SearchError(
                "filters",
                f"a range for '{column.name}' takes gt, gte, lt or lte, not {sorted(unknown)}",
            )
        parts = [f"{name} {RANGE_OPERATORS[op]} {_cast(column)}" for op in sorted(value)]
        return " AND ".join(parts), [str(value[op]) for op in sorted(value)]
    return f"{name} = {_cast(column)}", [str(value)]


def parse_sort(sort: str, names: set[str]) -> str:
    """CKAN's "field1, field2 desc nulls last" as an ORDER BY over known columns only."""
    items = []
    for raw in sort.split(","):
        if not raw.strip():
            continue
        match = SORT_ITEM.match(raw)
        if match is None:
            raise SearchError("sort", f"cannot sort by '{raw.strip()}'")
        name = match["quoted"] or match["plain"]
        if name not in names:
            raise SearchError("sort", f"field '{name}' not in table")
        item = quote_identifier(name)
        if match["direction"]:
            item += f" {match['direction'].upper()}"
        if match["nulls"]:
            item += f" NULLS {match['nulls'].upper()}"
        items.append(item)
    return ", ".join(items)


def plan_search(columns: Sequence[Column], request: SearchRequest, rows_max: int) -> SearchPlan:
    """Turn a datastore_search request into SQL over ``(SELECT rowid + 1 AS _id, * FROM data)``."""
    by_name = {c.name: c for c in columns}
    where: list[str] = []
    params: list[Any] = []
    for name, value in request.filters.items():
        if name not in by_name:
            raise SearchError("filters", f"field '{name}' not in table")
        clause, values = _filter(by_name[name], value)
        where.append(clause)
        params.extend(values)
    if isinstance(request.q, dict):
        for name, term in request.q.items():
            if name not in by_name:
                raise SearchError("q", f"field '{name}' not in table")
            where.append(f"CAST({quote_identifier(name)} AS VARCHAR) ILIKE ?")
            params.append(f"%{term}%")
    elif request.q.strip():
        text = [c for c in columns if c.type in TEXT_TYPES]
        if not text:
            raise SearchError("q", "this table has no text fields to search")
        for word in request.q.split():
            anywhere = " OR ".join(f"{quote_identifier(c.name)} ILIKE ?" for c in text)
            where.append(f"({anywhere})")
            params.extend([f"%{word}%"] * len(text))
    chosen = list(request.fields) or [c.name for c in columns]
    missing = [f for f in chosen if f not in by_name]
    if missing:
        raise SearchError("fields", f"fields not in table: {', '.join(missing)}")
    if len(set(chosen)) != len(chosen):
        raise SearchError("fields", "a field is named twice")
    if request.limit < 0 or request.offset < 0:
        raise SearchError("limit", "limit and offset must not be negative")
    limit = min(request.limit, rows_max)
    source = f"(SELECT rowid + 1 AS {ROW_ID}, * FROM {TABLE}) AS t"
    where_sql = f" WHERE {' AND '.join(where)}" if where else ""
    order = parse_sort(request.sort, set(by_name))  # none: stored order, which is _id order
    order_sql = f" ORDER BY {order}" if order else ""
    select = ", ".join(quote_identifier(f) for f in chosen)
    distinct = "DISTINCT " if request.distinct else ""
    sql = f"SELECT {distinct}{select} FROM {source}{where_sql}{order_sql} LIMIT ? OFFSET ?"
    count_sql = f"SELECT count(*) FROM {source}{where_sql}" if request.include_total else None
    return SearchPlan(
        sql=sql,
        params=[*params, limit, request.offset],
        count_sql=count_sql,
        count_params=list(params),
        columns=[by_name[f] for f in chosen],
        limit=limit,
    )
