"""The national data opt-out check: usable NHS numbers out, invalid ones by line, the SQL check
agreeing with the pure modulus 11 rule; and the CLI commands end to end."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bulk_support import CAROL, DAN, PATIENTS, UNKNOWN, BulkWorld, build_bulk_world, write_csv
from identity_world import ADA, BOB, World, machine_token
from trusthub.cli import app
from trusthub.exchange import bulk
from trusthub.exchange.bulk_input import InputRefused
from trusthub.exchange.bulk_sql import clean_nhs, valid_nhs
from trusthub.exchange.sources import DatabaseSource
from trusthub.identifiers import is_valid_nhs_number
from trusthub.registry.agreement_rules import PurposeCategory

_CON = duckdb.connect()


def _sql_valid(values: list[str | None]) -> list[bool]:
    query = (
        f"SELECT {valid_nhs(clean_nhs('v'))} FROM "
        "(SELECT unnest($values) AS v, generate_subscripts($values, 1) AS i) ORDER BY i"
    )
    return [bool(row[0]) for row in _CON.execute(query, {"values": values}).fetchall()]


NHS_LIKE = st.one_of(
    st.text(alphabet="0123456789", min_size=9, max_size=11),
    st.text(alphabet="0123456789 -\t\u00a0\u2003\u3000\x1c\x0b", min_size=8, max_size=14),
    st.text(max_size=14),
    st.builds(lambda n: f"{n:010d}", st.integers(0, 9_999_999_999)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(NHS_LIKE, min_size=1, max_size=30))
def test_the_sql_check_agrees_with_the_pure_rule(values: list[str]) -> None:
    assert _sql_valid(list(values)) == [is_valid_nhs_number(v) for v in values]


def test_the_sql_check_on_known_numbers() -> None:
    values = [ADA, "943 476 5919", "943-476-5919", "9434765918", None, "", "94347659199"]
    assert _sql_valid(values) == [True, True, True, False, False, False, False]


@pytest.fixture
def world(hub: World, tmp_path: Path) -> BulkWorld:
    return build_bulk_world(hub, tmp_path)


def _check(world: BulkWorld, lines: list[str], purpose: PurposeCategory) -> bulk.OptOutReceipt:
    path = world.tmp / "numbers.txt"
    path.write_text("\n".join(lines) + "\n")
    with world.session() as session:
        return bulk.check_opt_outs(
            DatabaseSource(session),
            purpose=purpose,
            input_path=path,
            output_path=world.tmp / "out" / "usable.csv",
        )


def test_opted_out_numbers_are_removed_for_research_and_invalid_ones_listed_by_line(
    world: BulkWorld,
) -> None:
    lines = ["nhs_number", ADA, BOB, "12345", CAROL, DAN, UNKNOWN, "943 476 5870", "9434765918"]
    report = _check(world, lines, PurposeCategory.RESEARCH)
    usable = Path(report.output).read_text().split()
    assert usable == [ADA, DAN, UNKNOWN]
    assert (report.numbers_in, report.usable, report.opted_out, report.unknown) == (8, 3, 3, 1)
    assert report.invalid_lines == [4, 9] and report.invalid_count == 2


def test_the_opt_out_does_not_bind_direct_care(world: BulkWorld) -> None:
    report = _check(world, [ADA, BOB, CAROL], PurposeCategory.DIRECT_CARE)
    assert Path(report.output).read_text().split() == [ADA, BOB, CAROL]


def test_a_line_with_two_fields_refuses_the_file(world: BulkWorld) -> None:
    with pytest.raises(InputRefused) as refused:
        _check(world, [ADA, f"{BOB},{CAROL}", DAN], PurposeCategory.RESEARCH)
    assert [e["row"] for e in refused.value.errors] == [2]
    assert not (world.tmp / "out" / "usable.csv").exists()


def test_the_api_checks_an_uploaded_file(world: BulkWorld) -> None:
    token = machine_token(world.hub).json()["access_token"]
    answer = world.hub.client.post(
        "/exchange/v1/optout-check",
        data={"purpose": "research"},
        files={"file": ("numbers.txt", f"{ADA}\n{BOB}\nnonsense\n".encode(), "text/plain")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.text.split() == [ADA]
    report = json.loads(answer.headers["TrustHub-Receipt"])
    assert report["invalid_lines"] == [3] and report["opted_out"] == 1


def test_the_commands_print_receipts(world: BulkWorld) -> None:
    url = world.hub.settings.database_url
    runner = CliRunner()
    source = write_csv(world.tmp / "in.csv", PATIENTS)
    output = world.tmp / "out" / "extract.parquet"
    result = runner.invoke(
        app,
        ["extract", "run", "--agreement", world.agreements["research"], "--recipient", "dwp",
         "--input", str(source), "--output", str(output), "--json", "--database-url", url],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    receipt = json.loads(result.stdout)
    assert receipt["rows_out"] == 3 and receipt["removed"]["citizen_opted_out"] == 2
    assert output.exists()
    refused = runner.invoke(
        app,
        ["extract", "run", "--agreement", world.agreements["to_bank"], "--recipient", "dwp",
         "--input", str(source), "--output", str(world.tmp / "x.parquet"), "--json",
         "--database-url", url],
    )  # fmt: skip
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["errors"] == [{"reason": "wrong_recipient"}]
    numbers = world.tmp / "numbers.txt"
    numbers.write_text(f"{ADA}\n{BOB}\n")
    checked = runner.invoke(
        app,
        ["optout", "check", "--purpose", "research", "--input", str(numbers),
         "--output", str(world.tmp / "usable.txt"), "--json", "--database-url", url],
    )  # fmt: skip
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["usable"] == 1
