"""What datastore_search_sql may run: one plain SELECT over published tables and nothing else.

The statement is parsed by DuckDB itself (``sql_facts``), so there is no second parser to fool;
the decision (``check_sql``) is pure and allow-listed: a SELECT, tables that are published
resources, a few harmless table functions, and no function that reads files or settings. The
query then runs on a locked, read-only connection with no file access, a time limit and a row
limit (``storage.run_sql``), so a mistake here still cannot write or read outside the catalogue.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Set
from dataclasses import dataclass
from typing import Any

import duckdb

from trusthub.opendata.gate import Decision

ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
"""Table functions that compute rows and touch nothing; all others (read_csv, glob, …) are out."""

ALLOWED_REF_TYPES = frozenset(
    {"BASE_TABLE", "JOIN", "SUBQUERY", "EMPTY", "EXPRESSION_LIST", "TABLE_FUNCTION"}
)
"""FROM-clause shapes a query may use; SHOW, PIVOT over unknown sources and the like are out."""

DENIED_FUNCTION_PREFIXES = ("read_", "duckdb_", "pragma_", "sniff_", "parquet_", "glob")
DENIED_FUNCTIONS = frozenset(
    {"current_setting", "getenv", "query", "query_table", "load", "install", "system"}
)


@dataclass(frozen=True)
class TableRef:
    catalog: str
    schema: str
    name: str


@dataclass(frozen=True)
class SqlFacts:
    """What DuckDB's parser saw in a piece of SQL: the only input the decision needs."""

    statement_types: tuple[str, ...]
    tables: tuple[TableRef, ...] = ()
    table_functions: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    ref_types: tuple[str, ...] = ()
    cte_names: tuple[str, ...] = ()
    parse_error: str | None = None


def check_sql(facts: SqlFacts, allowed_tables: Set[str]) -> Decision:
    """Allow exactly one SELECT reading only published tables; say every reason otherwise."""
    if facts.parse_error is not None:
        return Decision(False, (f"the SQL could not be parsed: {facts.parse_error}",))
    reasons: list[str] = []
    if len(facts.statement_types) != 1:
        reasons.append(
            f"send exactly one statement, not {len(facts.statement_types)}",
        )
    reasons.extend(
        f"only SELECT statements are allowed, not {kind}"
        for kind in facts.statement_types
        if kind != "SELECT"
    )
    ctes = {c.lower() for c in facts.cte_names}
    allowed = {t.lower() for t in allowed_tables}
    for ref in facts.tables:
        if ref.catalog or ref.schema:
            reasons.append(f"tables are named by resource id alone, not '{ref.schema}.{ref.name}'")
        elif ref.name.lower() not in allowed and ref.name.lower() not in ctes:
            reasons.append(f"'{ref.name}' is not a published table resource")
    for name in facts.table_functions:
        if name.lower() not in ALLOWED_TABLE_FUNCTIONS:
            reasons.append(f"the table function {name}() is not allowed")
    for name in facts.functions:
        lowered = name.lower()
        if lowered in DENIED_FUNCTIONS or lowered.startswith(DENIED_FUNCTION_PREFIXES):
            reasons.append(f"the function {name}() is not allowed")
    for kind in facts.ref_types:
        if kind not in ALLOWED_REF_TYPES:
            reasons.append(f"a FROM clause of kind {kind} is not allowed")
    return Decision(not reasons, tuple(dict.fromkeys(reasons)))


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _function_name(node: dict[str, Any]) -> str:
    parts = [node.get("catalog", ""), node.get("schema", ""), node.get("function_name", "")]
    return ".".join(p for p in parts if p)


def sql_facts(sql: str) -> SqlFacts:
    """Parse with DuckDB (no data, no files): statement kinds, tables, functions, FROM shapes."""
    parser = duckdb.connect(":memory:")
    try:
        try:
            statements = parser.extract_statements(sql)
        except duckdb.Error as error:
            return SqlFacts(statement_types=(), parse_error=str(error).splitlines()[0])
        kinds = tuple(str(s.type.name) for s in statements)
        if kinds != ("SELECT",):
            return SqlFacts(statement_types=kinds)
        serialised = parser.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    finally:
        parser.close()
    tree = json.loads(serialised[0]) if serialised else {"error": True}
    if tree.get("error"):
        return SqlFacts(statement_types=kinds, parse_error=str(tree.get("error_message", "?")))
    tables: list[TableRef] = []
    table_functions: list[str] = []
    functions: list[str] = []
    ref_types: list[str] = []
    ctes: list[str] = []
    for node in _walk(tree["statements"]):
        kind = node.get("type")
        if isinstance(node.get("cte_map"), dict):
            ctes.extend(str(entry["key"]) for entry in node["cte_map"].get("map", []))
        if kind == "BASE_TABLE":
            tables.append(
                TableRef(
                    catalog=str(node.get("catalog_name", "")),
                    schema=str(node.get("schema_name", "")),
                    name=str(node.get("table_name", "")),
                )
            )
        if kind == "TABLE_FUNCTION":
            function = node.get("function", {})
            table_functions.append(_function_name(function) if isinstance(function, dict) else "?")
        if node.get("class") == "FUNCTION" and "function_name" in node:
            functions.append(_function_name(node))
        if "sample" in node and "select_list" not in node and isinstance(kind, str):
            # FROM-clause nodes carry 'sample'; so does a SELECT node, which has a select list.
            ref_types.append(kind)
    return SqlFacts(
        statement_types=kinds,
        tables=tuple(tables),
        table_functions=tuple(table_functions),
        functions=tuple(functions),
        ref_types=tuple(ref_types),
        cte_names=tuple(ctes),
    )


def check(sql: str, allowed_tables: Set[str]) -> tuple[Decision, SqlFacts]:
    """Parse, then decide: the one call the service makes."""
    facts = sql_facts(sql)
    return check_sql(facts, allowed_tables), facts
