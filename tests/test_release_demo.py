"""Releases of the synthetic demo world's messy department copies, measured independently."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from release_measure import k_of, l_distinct, t_of
from trusthub.demo.service import write_parquet_world
from trusthub.release import service

KEY = b"demo-release-key-0123456789abcde"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("world")
    write_parquet_world(folder, citizens=20_000, seed=11)
    return folder


def release(world: Path, spec: dict[str, Any], out: Path) -> service.ReleaseOutcome:
    return service.run_release(
        None, service.parse_spec(spec), base=world, out=out, released_by="test", key=KEY
    )


def drop(*names: str) -> dict[str, Any]:
    return {n: {"role": "direct_identifier", "action": "drop"} for n in names}


def test_eye_patients_for_a_research_partner(world: Path, tmp_path: Path) -> None:
    """The article's case: the eye hospital's patients, pseudonymised, 3-anonymous, 2-diverse."""
    spec = {
        "name": "eye-patients-research",
        "source": {"parquet": "riverside-eye.eye-patients.parquet", "name": "riverside-eye"},
        "recipient": "deepmind-health",
        "agreement": "DSA-2016-0001",
        "fields": {
            **drop("citizen_id", "local_id", "hospital_number", "given_name", "family_name"),
            **drop("clinic_visits", "updated_at"),
            "nhs_number": {"role": "direct_identifier", "action": "pseudonymise"},
            "date_of_birth": {"role": "quasi_identifier", "hierarchy": {"type": "dates"}},
            "sex": {"role": "quasi_identifier", "hierarchy": {"type": "suppress"}},
            "postcode": {"role": "quasi_identifier", "hierarchy": {"type": "postcode"}},
            "diagnosis": {"role": "sensitive"},
            "clinic": {"role": "keep"},
            "oct_scan_count": {"role": "keep"},
        },
        "privacy": {
            "model": "k_anonymity",
            "k": 3,
            "l_diversity": {"l": 2},
            "suppression_limit": 0.1,
        },
    }
    out = tmp_path / "eye"
    outcome = release(world, spec, out)
    assert outcome.report["passed"]
    source = pq.read_table(world / "riverside-eye.eye-patients.parquet").to_pylist()
    released = pq.read_table(out / "data.parquet").to_pylist()
    assert set(released[0]) == {
        "nhs_number", "date_of_birth", "sex", "postcode", "diagnosis", "clinic", "oct_scan_count"
    }  # fmt: skip
    qis = [[str(r["date_of_birth"]), str(r["sex"]), str(r["postcode"])] for r in released]
    assert k_of(qis) >= 3
    assert l_distinct(qis, [r["diagnosis"] for r in released]) >= 2
    assert len(source) - len(released) <= 0.1 * len(source)
    originals = {r["nhs_number"] for r in source if r["nhs_number"]}
    pseudonyms = [r["nhs_number"] for r in released]
    assert not originals & set(pseudonyms)
    # one patient, one pseudonym: the counts of pseudonyms are those of kept NHS numbers
    suppressed = set(pq.read_table(out / "internal" / "suppressed_rows.parquet")[0].to_pylist())
    kept = Counter(r["nhs_number"] for i, r in enumerate(source) if i not in suppressed)
    assert sorted(Counter(pseudonyms).values()) == sorted(kept.values())
    names = {r[f] for r in source for f in ("family_name", "given_name") if r[f]}
    cells = {str(v) for r in released for v in r.values()}
    assert not names & cells


def test_citizens_by_birth_date_sex_and_postcode(world: Path, tmp_path: Path) -> None:
    spec: dict[str, Any] = {
        "name": "citizens-open",
        "source": {"parquet": "citizens.parquet"},
        "recipient": "ons-research",
        "agreement": "DSA-2026-0100",
        "fields": {
            name: {"role": "direct_identifier", "action": "drop"}
            for name in pq.read_schema(world / "citizens.parquet").names
        },
        "privacy": {"model": "k_anonymity", "k": 10, "suppression_limit": 0.05},
        "output": {"format": "csv"},
    }
    spec["fields"]["date_of_birth"] = {
        "role": "quasi_identifier",
        "hierarchy": {"type": "dates", "levels": ["month", "year"]},
    }
    spec["fields"]["sex"] = {"role": "quasi_identifier", "hierarchy": {"type": "suppress"}}
    spec["fields"]["postcode"] = {"role": "quasi_identifier", "hierarchy": {"type": "postcode"}}
    spec["fields"]["opted_out"] = {"role": "keep"}
    out = tmp_path / "citizens"
    outcome = release(world, spec, out)
    lines = (out / "data.csv").read_text().splitlines()
    header = [h.strip('"') for h in lines[0].split(",")]
    assert header == ["sex", "date_of_birth", "postcode", "opted_out"]
    rows = [line.split(",")[:3] for line in lines[1:]]
    assert k_of(rows) >= 10
    assert outcome.report["measured"]["k"] == k_of(rows)
    assert len(rows) >= 0.95 * 20_000


def test_eye_patients_t_close_on_diagnosis(world: Path, tmp_path: Path) -> None:
    """t-closeness on the demo world, measured from the released file by independent code."""
    spec = {
        "name": "eye-patients-t",
        "source": {"parquet": "riverside-eye.eye-patients.parquet", "name": "riverside-eye"},
        "recipient": "deepmind-health",
        "agreement": "DSA-2016-0001",
        "fields": {
            **drop("citizen_id", "local_id", "hospital_number", "given_name", "family_name"),
            **drop("clinic_visits", "updated_at", "nhs_number", "clinic", "oct_scan_count"),
            "date_of_birth": {"role": "quasi_identifier", "hierarchy": {"type": "dates"}},
            "sex": {"role": "quasi_identifier", "hierarchy": {"type": "suppress"}},
            "postcode": {"role": "quasi_identifier", "hierarchy": {"type": "postcode"}},
            "diagnosis": {"role": "sensitive"},
        },
        "privacy": {
            "model": "k_anonymity",
            "k": 2,
            "t_closeness": {"t": 0.3},
            "suppression_limit": 0.1,
        },
    }
    out = tmp_path / "eye-t"
    outcome = release(world, spec, out)
    assert outcome.report["passed"]
    source = pq.read_table(world / "riverside-eye.eye-patients.parquet").to_pylist()
    released = pq.read_table(out / "data.parquet").to_pylist()
    qis = [[str(r["date_of_birth"]), str(r["sex"]), str(r["postcode"])] for r in released]
    assert k_of(qis) >= 2
    everything = [r["diagnosis"] for r in source]
    assert t_of(qis, [r["diagnosis"] for r in released], everything) <= 0.3 + 1e-9
