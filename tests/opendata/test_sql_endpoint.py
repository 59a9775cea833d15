"""datastore_search_sql runs one read-only SELECT over published tables, and refuses the rest."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from trusthub.opendata.sql_guard import check

from .conftest import Catalogue

TABLE = "4f73b236-b262-4e9b-9b27-a91851b4559d"
ALLOWED = {TABLE}


@pytest.mark.parametrize(
    "sql",
    [
        f'SELECT * FROM "{TABLE}"',
        f'SELECT region, median(price) FROM "{TABLE}" GROUP BY region ORDER BY 2 DESC LIMIT 5',
        f'WITH t AS (SELECT * FROM "{TABLE}") SELECT count(*) FROM t',
        f'SELECT a.price FROM "{TABLE}" a JOIN "{TABLE}" b USING (_id) WHERE a.price > 10',
        "SELECT 1 + 1",
        "SELECT * FROM range(10)",
        f'SELECT * FROM "{TABLE}" WHERE postcode IN (SELECT postcode FROM "{TABLE}" LIMIT 1);',
    ],
)
def test_plain_selects_pass(sql: str) -> None:
    decision, _ = check(sql, ALLOWED)
    assert decision.allowed, decision.reasons


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        # writes
        (f'INSERT INTO "{TABLE}" VALUES (1)', "not INSERT"),
        (f'UPDATE "{TABLE}" SET price = 0', "not UPDATE"),
        (f'DELETE FROM "{TABLE}"', "not DELETE"),
        # DDL
        ("CREATE TABLE x AS SELECT 1", "not CREATE"),
        (f'DROP TABLE "{TABLE}"', "not DROP"),
        (f'ALTER TABLE "{TABLE}" ADD COLUMN x INT', "not ALTER"),
        # several statements
        (f'SELECT 1; DROP TABLE "{TABLE}"', "exactly one statement"),
        ("SELECT 1; SELECT 2", "exactly one statement"),
        # files
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
        ("SELECT * FROM read_parquet('/tmp/x.parquet')", "read_parquet"),
        ("SELECT * FROM '/etc/passwd'", "not a published table"),
        ("SELECT * FROM glob('/etc/*')", "glob"),
        ("SELECT read_text('/etc/passwd')", "read_text"),
        ("COPY (SELECT 1) TO '/tmp/out.csv'", "not COPY"),
        ("EXPORT DATABASE '/tmp/out'", "not EXPORT"),
        # extensions, attachments and settings
        ("INSTALL httpfs", "not LOAD"),  # DuckDB parses INSTALL as a LOAD statement
        ("LOAD httpfs", "not LOAD"),
        ("ATTACH '/tmp/other.duckdb' AS other", "not ATTACH"),
        ("SET enable_external_access = true", "not SET"),
        ("PRAGMA database_list", "not PRAGMA"),
        ("SELECT current_setting('threads')", "current_setting"),
        ("SELECT * FROM duckdb_settings()", "duckdb_settings"),
        ("CALL duckdb_settings()", "not CALL"),
        ("SUMMARIZE SELECT 1", "SHOW_REF"),
        # other tables and catalogues
        ("SELECT * FROM information_schema.tables", "resource id alone"),
        ("SELECT * FROM some_other_table", "not a published table"),
        ("SELECT * FROM resource_0.main.data", "resource id alone"),
        ("SELEKT 1", "could not be parsed"),
    ],
)
def test_refusals(sql: str, reason: str) -> None:
    decision, _ = check(sql, ALLOWED)
    assert not decision.allowed
    assert reason in " ".join(decision.reasons), decision.reasons


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["INSERT INTO t VALUES (1)", "DROP TABLE t", "CREATE TABLE t (x INT)"]),
    st.text(alphabet=" \n\t;", max_size=3),
)
def test_a_write_hidden_after_a_select_is_refused(write: str, glue: str) -> None:
    decision, _ = check(f"SELECT 1;{glue}{write}", {"t"})
    assert not decision.allowed


def _sql(client: TestClient, sql: str) -> tuple[int, dict[str, Any]]:
    response = client.post("/api/3/action/datastore_search_sql", json={"sql": sql})
    body: dict[str, Any] = response.json()
    return response.status_code, body


def test_the_api_answers_a_select(od_client: TestClient, catalogue: Catalogue) -> None:
    status, body = _sql(od_client, f'SELECT count(*) AS n FROM "{catalogue.price_resource}"')
    assert status == 200
    assert body["result"]["records"] == [{"n": 3000}]


@pytest.mark.parametrize(
    "template",
    [
        'DELETE FROM "{rid}"',
        'DROP TABLE "{rid}"',
        'SELECT 1; DELETE FROM "{rid}"',
        "SELECT * FROM read_csv('/etc/passwd')",
        "INSTALL httpfs",
        "ATTACH '/tmp/x.duckdb' AS x",
    ],
)
def test_the_api_refuses_and_the_table_is_intact(
    od_client: TestClient, catalogue: Catalogue, template: str
) -> None:
    status, body = _sql(od_client, template.format(rid=catalogue.price_resource))
    assert status == 409
    assert body["success"] is False
    assert body["error"]["__type"] == "Validation Error"
    assert body["error"]["query"]
    _, after = _sql(od_client, f'SELECT count(*) AS n FROM "{catalogue.price_resource}"')
    assert after["result"]["records"] == [{"n": 3000}]


def test_runaway_queries_are_cut_off(od_client: TestClient, catalogue: Catalogue) -> None:
    """A cross join of 3,000³ rows would run for minutes; the time limit stops it in seconds."""
    rid = catalogue.price_resource
    status, body = _sql(
        od_client,
        f'SELECT count(*) FROM "{rid}" a, "{rid}" b, "{rid}" c WHERE a.price + b.price > c.price',
    )
    assert status == 409
    assert "Query took too long" in body["error"]["query"]


def test_row_limit_truncates(od_client: TestClient, catalogue: Catalogue) -> None:
    status, body = _sql(od_client, "SELECT * FROM range(40000)")
    assert status == 200
    assert len(body["result"]["records"]) == catalogue.settings.opendata_rows_max
    assert body["result"]["records_truncated"] is True


def test_the_sandbox_holds_even_past_the_guard(catalogue: Catalogue, tmp_path: Any) -> None:
    """Defence in depth: run_sql itself cannot read files or change its settings."""
    from trusthub.opendata import storage

    for sql in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "SET enable_external_access = true",
        f"COPY (SELECT 1) TO '{tmp_path}/x.csv'",
    ):
        with pytest.raises(Exception, match=r"(?i)permission|disabled|configuration|cannot"):
            storage.run_sql(sql, {}, timeout=5, rows_max=10)
    assert not (tmp_path / "x.csv").exists()
