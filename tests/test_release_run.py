"""Release runs end to end: bad specifications fail before any output, budgets, API and CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from release_support import running_ledger
from test_release_adult import ADULT, adult_spec
from trusthub.config import Settings
from trusthub.db import transaction
from trusthub.ledger.runtime import Ledger
from trusthub.problems import Problem
from trusthub.release import service
from trusthub.release.schemas import BudgetSet

EXAMPLES = Path(__file__).parents[1] / "examples"


def run(
    spec: dict[str, Any], out: Path, session: Session | None = None, ledger: Ledger | None = None
) -> Any:
    return service.run_release(
        session,
        service.parse_spec(spec),
        base=ADULT,
        out=out,
        released_by="t",
        key=b"k" * 32,
        ledger=ledger,
    )


@pytest.fixture
def ledger(settings: Settings, engine: Engine) -> Iterator[Ledger]:
    with running_ledger(settings, engine) as running:
        yield running


def nothing_written(folder: Path) -> bool:
    return not any(folder.iterdir())


def _with(spec: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**spec, **changes}


BAD_SPECS = [
    (
        "unknown field",
        lambda s: _with(s, fields={**s["fields"], "shoe-size": {"role": "keep"}}),
        "unknown field(s) shoe-size",
    ),
    (
        "unlisted field",
        lambda s: _with(s, fields={k: v for k, v in s["fields"].items() if k != "race"}),
        "missing: race",
    ),
    (
        "hierarchy that does not cover a value",
        lambda s: _with(
            s,
            fields={
                **s["fields"],
                "education": {
                    "role": "quasi_identifier",
                    "hierarchy": {"type": "csv", "path": "adult_hierarchy_race.csv"},
                },
            },
        ),
        "field 'education': 16 distinct value(s) of the column have no row",
    ),
    (
        "k larger than the table",
        lambda s: _with(s, privacy={"model": "k_anonymity", "k": 40_000}),
        "k = 40000 is larger than the table (30162 records)",
    ),
    (
        "no node within the suppression limit",
        lambda s: _with(s, privacy={"model": "k_anonymity", "k": 5, "l_diversity": {"l": 3}}),
        "no generalisation meets the privacy model",
    ),
    (
        "missing hierarchy file",
        lambda s: _with(
            s,
            fields={
                **s["fields"],
                "sex": {
                    "role": "quasi_identifier",
                    "hierarchy": {"type": "csv", "path": "nowhere.csv"},
                },
            },
        ),
        "no hierarchy file",
    ),
]


@pytest.mark.parametrize(("case", "change", "message"), BAD_SPECS, ids=[b[0] for b in BAD_SPECS])
def test_bad_specifications_fail_before_any_output(
    tmp_path: Path, case: str, change: Any, message: str
) -> None:
    spec = change(adult_spec({"k": 5, "suppression_limit": 0.02}))
    with pytest.raises(Problem) as caught:
        run(spec, tmp_path / "out")
    assert message in caught.value.detail, case
    assert nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"agreement": "no spaces allowed"}, "agreement"),
        ({"recipient": "Not A Slug"}, "recipient"),
        ({"privacy": {"model": "k_anonymity", "k": 0}}, "privacy.k_anonymity.k"),
        ({"privacy": {"model": "k_anonymity", "k": 2, "l_diversity": {"l": 2}}}, "spec"),
        ({"fields": {"age": {"role": "quasi_identifier"}}}, "fields.age"),
        ({"fields": {"age": {"role": "direct_identifier"}}}, "fields.age"),
    ],
)
def test_invalid_specifications_name_what_to_fix(change: dict[str, Any], field: str) -> None:
    spec = {**adult_spec({"k": 5}), **change}
    if field == "spec":
        spec["fields"] = {"age": {"role": "keep"}}
    with pytest.raises(Problem) as caught:
        service.parse_spec(spec)
    fields = [e["field"] for e in caught.value.errors]
    assert any(f.startswith(field) for f in fields), fields


def test_the_output_folder_must_be_new(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(Problem, match="already exists"):
        run(adult_spec({"k": 5, "suppression_limit": 0.02}), tmp_path / "out")


DP_SPEC: dict[str, Any] = {
    "name": "adult-dp",
    "source": {"csv": "adult.csv", "separator": ";", "name": "uci-adult"},
    "recipient": "example-university",
    "agreement": "DSA-2017-0042",
    "privacy": {
        "model": "differential_privacy",
        "queries": [
            {"statistic": "count", "epsilon": 5.0},
            {"statistic": "mean", "field": "age", "bounds": [17, 90], "epsilon": 4.0},
            {
                "statistic": "histogram",
                "field": "salary-class",
                "categories": ["<=50K", ">50K"],
                "epsilon": 1.0,
            },
        ],
    },
}


def test_privacy_budgets_are_spent_shown_and_refused_when_exhausted(
    tmp_path: Path, session_factory: sessionmaker[Session], ledger: Ledger
) -> None:
    tmp_path = tmp_path / "outputs"
    tmp_path.mkdir()
    with transaction(session_factory) as session, pytest.raises(Problem, match="no privacy budget"):
        run(DP_SPEC, tmp_path / "none", session, ledger)
    with transaction(session_factory) as session:
        service.set_budget(
            session, BudgetSet(dataset="uci-adult", recipient="example-university", epsilon=15)
        )
    with transaction(session_factory) as session:
        outcome = run(DP_SPEC, tmp_path / "first", session, ledger)
    stats = outcome.report["statistics"]
    assert abs(stats[0]["value"] - 30162) < 50  # ε = 5: noise scale 0.2
    assert abs(stats[1]["value"] - 38.44) < 1.0
    assert sum(stats[2]["histogram"].values()) == pytest.approx(30162, abs=100)
    assert outcome.report["epsilon"] == pytest.approx(10.0)
    with transaction(session_factory) as session:
        budget = service.get_budget(session, "uci-adult", "example-university")
    assert budget.epsilon_spent == pytest.approx(10.0)
    assert budget.epsilon_left == pytest.approx(5.0)
    assert budget.spends[0].statistics == ["count(*)", "mean(age)", "histogram(salary-class)"]
    with transaction(session_factory) as session, pytest.raises(Problem) as caught:
        run(DP_SPEC, tmp_path / "second", session, ledger)
    assert caught.value.status == 409
    assert "needs ε = 10" in caught.value.detail and "has ε = 5, δ = 0 left" in caught.value.detail
    assert not (tmp_path / "second").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first"]
    with transaction(session_factory) as session:
        assert len(service.get_budget(session, "uci-adult", "example-university").spends) == 1
        releases = service.list_releases(session)
        with pytest.raises(Problem, match="already spent"):
            service.set_budget(
                session, BudgetSet(dataset="uci-adult", recipient="example-university", epsilon=1)
            )
    assert [r.kind for r in releases] == ["differential_privacy"]


def test_the_api_runs_a_release_and_lists_it(
    client: TestClient, admin_headers: dict[str, str], settings: Any, tmp_path: Path
) -> None:
    settings.release_dir = tmp_path / "releases"
    spec = adult_spec({"k": 5, "suppression_limit": 0.02}, qis=["sex", "age", "race"])
    spec["source"]["csv"] = str(ADULT / "adult.csv")
    for field in spec["fields"].values():
        if field.get("hierarchy", {}).get("type") == "csv":
            field["hierarchy"]["path"] = str(ADULT / field["hierarchy"]["path"])
    refused = client.post("/api/v1/release/runs", json={"spec": spec})
    assert refused.status_code == 401
    made = client.post(
        "/api/v1/release/runs", json={"spec_yaml": yaml.safe_dump(spec)}, headers=admin_headers
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["report"]["passed"] and body["report"]["measured"]["k"] >= 5
    assert Path(body["release"]["output"], "data.parquet").is_file()
    listed = client.get("/api/v1/release/runs", headers=admin_headers).json()
    assert [r["name"] for r in listed] == ["adult-test"]
    bad = client.post(
        "/api/v1/release/runs",
        json={"spec": {**spec, "fields": {**spec["fields"], "height": {"role": "keep"}}}},
        headers=admin_headers,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    budget = client.put(
        "/api/v1/release/budgets",
        json={"dataset": "uci-adult", "recipient": "example-university", "epsilon": 1.0},
        headers=admin_headers,
    )
    assert budget.status_code == 200 and budget.json()["epsilon_left"] == 1.0
    shown = client.get(
        "/api/v1/release/budgets/example-university/uci-adult", headers=admin_headers
    )
    assert shown.json()["epsilon"] == 1.0


def test_the_cli_runs_the_worked_example(tmp_path: Path, database_url: str) -> None:
    from trusthub.cli import app

    runner = CliRunner()
    spec = yaml.safe_load((EXAMPLES / "release-adult-k5.yaml").read_text())
    assert spec["privacy"]["k"] == 5
    out = tmp_path / "adult-k5"
    result = runner.invoke(
        app,
        [
            "release", "run", str(EXAMPLES / "release-adult-k5.yaml"),
            "--out", str(out), "--by", "tester", "--database-url", database_url,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "data.csv").is_file() and (out / "report.html").is_file()
    listed = runner.invoke(app, ["release", "list", "--database-url", database_url])
    assert '"released_by":"tester"' in listed.output
