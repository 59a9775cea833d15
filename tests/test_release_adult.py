"""k-anonymous releases of the UCI Adult data, measured by code independent of the release part."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from release_measure import k_of, l_distinct, l_entropy, t_of
from trusthub.release import service

ADULT = Path(__file__).parent / "data" / "adult"
QIS = ["sex", "age", "race", "marital-status", "education", "native-country", "workclass",
       "occupation"]  # fmt: skip


def adult_spec(privacy: dict[str, Any], qis: list[str] = QIS, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in [*QIS, "salary-class"]:
        if name in qis:
            hierarchy = (
                {"type": "bands", "widths": [5, 10, 20]}
                if name == "age"
                else {"type": "csv", "path": f"adult_hierarchy_{name}.csv"}
            )
            fields[name] = {"role": "quasi_identifier", "hierarchy": hierarchy}
        elif name == "salary-class":
            fields[name] = {"role": "sensitive"}
        else:
            fields[name] = {"role": "keep"}
    return {
        "name": "adult-test",
        "source": {"csv": "adult.csv", "separator": ";", "name": "uci-adult"},
        "recipient": "example-university",
        "agreement": "DSA-2017-0042",
        "fields": fields,
        "privacy": {"model": "k_anonymity", **privacy},
        "output": {"format": "parquet"},
        **extra,
    }


def release(spec: dict[str, Any], out: Path) -> service.ReleaseOutcome:
    return service.run_release(
        None,
        service.parse_spec(spec),
        base=ADULT,
        out=out,
        released_by="test",
        key=b"k" * 32,
    )


def source_rows() -> list[dict[str, Any]]:
    table = pacsv.read_csv(ADULT / "adult.csv", parse_options=pacsv.ParseOptions(delimiter=";"))
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


@pytest.mark.parametrize(
    ("privacy", "qis"),
    [
        ({"k": 5, "l_diversity": {"l": 2}, "suppression_limit": 0.02}, QIS),
        ({"k": 10, "suppression_limit": 0.0}, QIS),
        (
            {"k": 3, "l_diversity": {"l": 1.6, "variant": "entropy"}, "suppression_limit": 0.05},
            ["sex", "age", "race", "education", "workclass"],
        ),
        (
            {"k": 2, "t_closeness": {"t": 0.15}, "suppression_limit": 0.05},
            ["sex", "age", "race", "marital-status", "education"],
        ),
    ],
)
def test_released_adult_tables_meet_their_model(
    tmp_path: Path, privacy: dict[str, Any], qis: list[str]
) -> None:
    out = tmp_path / "release"
    outcome = release(adult_spec(privacy, qis), out)
    assert outcome.report["passed"]
    table = pq.read_table(out / "data.parquet").to_pylist()
    source = source_rows()
    limit = privacy["suppression_limit"]
    assert len(source) - len(table) <= limit * len(source)
    rows = [[str(r[q]) for q in qis] for r in table]
    salary = [r["salary-class"] for r in table]
    assert k_of(rows) >= privacy["k"]
    if "l_diversity" in privacy:
        diversity = privacy["l_diversity"]
        if diversity.get("variant", "distinct") == "distinct":
            assert l_distinct(rows, salary) >= diversity["l"]
        else:
            assert l_entropy(rows, salary) >= diversity["l"] - 1e-9
    if "t_closeness" in privacy:
        everything = [r["salary-class"] for r in source]
        assert t_of(rows, salary, everything) <= privacy["t_closeness"]["t"] + 1e-9
    # the released multiset of sensitive values is the source's minus the suppressed rows
    suppressed = pq.read_table(out / "internal" / "suppressed_rows.parquet").column(0).to_pylist()
    expected = Counter(r["salary-class"] for r in source) - Counter(
        source[i]["salary-class"] for i in suppressed
    )
    assert Counter(salary) == expected
    report = json.loads((out / "report.json").read_text())
    assert report["measured"]["k"] == k_of(rows)
    assert report["records"]["released"] == len(table)
    assert report["risk"]["prosecutor"]["highest"] == pytest.approx(1 / k_of(rows))


def test_each_released_value_is_a_generalisation_of_its_source_value(tmp_path: Path) -> None:
    """The generalisation chosen is applied to every record, from the spec's own hierarchies."""
    out = tmp_path / "release"
    outcome = release(adult_spec({"k": 5, "suppression_limit": 0.01}), out)
    levels = {name: g["level"] for name, g in outcome.report["generalisation"].items()}
    released = Counter(
        tuple(str(r[q]) for q in QIS) for r in pq.read_table(out / "data.parquet").to_pylist()
    )
    trees = {}
    for name in QIS:
        if name == "age":
            continue
        lines = (ADULT / f"adult_hierarchy_{name}.csv").read_text().splitlines()
        trees[name] = {line.split(";")[0]: line.split(";") for line in lines if line}

    def generalise(row: dict[str, Any]) -> tuple[str, ...]:
        out = []
        for name in QIS:
            level = levels[name]
            if name == "age":
                widths = [1, 5, 10, 20]
                if level == 4:
                    out.append("*")
                    continue
                start = row["age"] // widths[level] * widths[level]
                out.append(
                    str(row["age"]) if level == 0 else f"{start}-{start + widths[level] - 1}"
                )
            else:
                out.append(trees[name][row[name]][level])
        return tuple(out)

    generalised = Counter(generalise(r) for r in source_rows())
    assert all(generalised[key] >= count for key, count in released.items())
    assert sum(released.values()) >= (1 - 0.01) * sum(generalised.values())
    html = (out / "report.html").read_text()
    assert "<svg" in html and "adult-test" in html


def test_a_release_whose_risk_report_fails_writes_no_data(tmp_path: Path) -> None:
    out = tmp_path / "release"
    spec = adult_spec({"k": 5, "suppression_limit": 0.02}, risk_thresholds={"marketer_max": 0.0001})
    outcome = release(spec, out)
    assert not outcome.report["passed"]
    assert not (out / "data.parquet").exists()
    assert (out / "report.html").exists()
