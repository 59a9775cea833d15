"""Releases on the ledger and in the open-data catalogue: recorded first, published only if safe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from ledger_support import rfc_leaf, rfc_verify_inclusion
from release_support import ledger_size, proven_entry, running_ledger
from test_release_adult import ADULT, adult_spec
from test_release_run import DP_SPEC
from trusthub.config import Settings, get_settings
from trusthub.db import make_session_factory, transaction
from trusthub.demo.service import seed_database, write_parquet_world
from trusthub.ledger import service as ledger_service
from trusthub.ledger.entry import Outcome
from trusthub.ledger.prepare import AggregateDecision, BulkDecision
from trusthub.ledger.runtime import Ledger
from trusthub.opendata.models import OpenDataset
from trusthub.problems import Problem
from trusthub.registry.schemas import OrganisationCreate
from trusthub.registry.service import create_organisation
from trusthub.release import service
from trusthub.release.models import ReleaseRecord
from trusthub.release.recording import LedgerEntry, citizens_of, ledger_decision, token
from trusthub.release.schemas import BudgetSet

KEY = b"k" * 32
SMALL = {"k": 5, "suppression_limit": 0.02}
SMALL_QIS = ["sex", "age", "race"]


@pytest.fixture
def ledger(settings: Settings, engine: Engine) -> Iterator[Ledger]:
    with running_ledger(settings, engine) as running:
        yield running


def _run(
    session: Session | None,
    spec: dict[str, Any],
    out: Path,
    ledger: Ledger | None,
    *,
    base: Path = ADULT,
    opendata_dir: Path | None = None,
) -> service.ReleaseOutcome:
    return service.run_release(
        session,
        service.parse_spec(spec),
        base=base,
        out=out,
        released_by="release-officer",
        key=KEY,
        ledger=ledger,
        opendata_dir=opendata_dir,
    )


def _absolute(spec: dict[str, Any]) -> dict[str, Any]:
    """The API reads relative paths from the server's folder: give it absolute ones."""
    spec["source"]["csv"] = str(ADULT / "adult.csv")
    for field in spec["fields"].values():
        if field.get("hierarchy", {}).get("type") == "csv":
            field["hierarchy"]["path"] = str(ADULT / field["hierarchy"]["path"])
    return spec


def _open_spec(**extra: Any) -> dict[str, Any]:
    spec = _absolute(adult_spec(SMALL, qis=SMALL_QIS, **extra))
    spec.update(
        name="adult-open",
        recipient="everyone",
        agreement="open",
        publication={
            "dataset": "adult-census-k5",
            "organisation": "ons",
            "title": "Adult census extract, 5-anonymous",
            "keywords": ["census"],
        },
    )
    return spec


def _organisation(session: Session, slug: str = "ons") -> None:
    create_organisation(
        session,
        OrganisationCreate(
            slug=slug, name="Office for National Statistics", kind="government_department",
            dpo_name="D P O", dpo_email="dpo@ons.example",
        ),
    )  # fmt: skip


def _nothing_at(out: Path) -> bool:
    """Neither the output folder nor a half-written one beside it."""
    return not out.exists() and not list(out.parent.glob(f".{out.name}*"))


def _releases(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as session:
        return int(session.scalar(select(func.count()).select_from(ReleaseRecord)) or 0)


# --- the pure decision: which entry a release becomes ---------------------------------------


def _entry(**changes: Any) -> LedgerEntry:
    values: dict[str, Any] = {
        "kind": "k_anonymity",
        "release": "eye-research",
        "actor": "Jo Bloggs",
        "recipient": "deepmind-health",
        "agreement": "DSA-2016-0001",
        "source": "riverside-eye",
        "passed": True,
        "fields": ("sex", "postcode area"),
        "facts": ("k:5",),
    }
    values.update(changes)
    return LedgerEntry(**values)


@pytest.mark.parametrize(
    ("rows", "suppressed", "released", "withheld"),
    [
        (None, [], None, None),
        ([None, None], [0], None, None),
        ([1, 2, 3], [], {1, 2, 3}, set()),
        ([1, 2, 3], [1], {1, 3}, {2}),
        ([1, 1, 2], [0], {1, 2}, set()),  # one of a citizen's two rows kept: released
        ([1, None, 2], [0, 2], set(), {1, 2}),
    ],
)
def test_released_citizens_are_those_with_a_row_kept(
    rows: list[int | None] | None,
    suppressed: list[int],
    released: set[int] | None,
    withheld: set[int] | None,
) -> None:
    found = citizens_of(rows, suppressed)
    if released is None:
        assert found is None
        return
    assert found is not None
    assert (set(found.released), set(found.withheld)) == (released, withheld)


@given(
    rows=st.lists(st.one_of(st.none(), st.integers(1, 30)), max_size=60),
    data=st.data(),
)
def test_every_resolved_citizen_is_released_or_withheld_never_both(
    rows: list[int | None], data: st.DataObject
) -> None:
    suppressed = data.draw(st.sets(st.integers(0, max(len(rows) - 1, 0))))
    found = citizens_of(rows, suppressed)
    resolved = {c for c in rows if c is not None}
    if not resolved:
        assert found is None
        return
    assert found is not None
    assert not found.released & found.withheld
    assert found.released | found.withheld == resolved
    kept = {c for i, c in enumerate(rows) if c is not None and i not in suppressed}
    assert found.released == kept


def test_a_release_with_citizens_is_a_bulk_entry_and_without_them_an_aggregate() -> None:
    citizens = citizens_of([1, 2, 3], [2])
    bulk = ledger_decision(_entry(citizens=citizens), purpose="research")
    assert isinstance(bulk, BulkDecision)
    outcomes = {c.citizen_id: (c.outcome, tuple(c.reasons)) for c in bulk.citizens}
    assert outcomes == {
        1: (Outcome.PERMIT, ()),
        2: (Outcome.PERMIT, ()),
        3: (Outcome.REFUSE, ("suppressed",)),
    }
    assert bulk.client == "Jo-Bloggs" and bulk.organisation == "deepmind-health"
    assert list(bulk.fields) == ["postcode-area", "sex"]
    assert bulk.reasons[:4] == [
        "release:eye-research", "source:riverside-eye", "model:k_anonymity", "outcome:passed",
    ]  # fmt: skip
    failed = ledger_decision(_entry(citizens=citizens, passed=False), purpose="research")
    assert isinstance(failed, AggregateDecision) and failed.outcome is Outcome.REFUSE
    opened = ledger_decision(_entry(agreement="open"), purpose="open_publication")
    assert isinstance(opened, AggregateDecision) and opened.agreement is None


@pytest.mark.parametrize(
    ("text", "expected"), [("alice", "alice"), ("Jo Bloggs", "Jo-Bloggs"), ("", "unknown")]
)
def test_names_become_ledger_tokens(text: str, expected: str) -> None:
    assert token(text) == expected


# --- releases on the ledger ------------------------------------------------------------------


def test_a_release_is_on_the_ledger_before_its_output_and_the_entry_verifies(
    tmp_path: Path, session_factory: sessionmaker[Session], ledger: Ledger
) -> None:
    before = ledger_size(ledger)
    with transaction(session_factory) as session:
        outcome = _run(session, adult_spec(SMALL, qis=SMALL_QIS), tmp_path / "out", ledger)
    assert outcome.ledger is not None and outcome.record.passed
    index = outcome.ledger["index"]
    assert index == before and ledger_size(ledger) == before + 1
    entry = proven_entry(ledger, index)
    assert entry["source"] == "release"
    assert entry["client"] == "release-officer"  # who
    assert entry["organisation"] == "example-university"  # to whom
    assert entry["agreement"] == "DSA-2017-0042" and entry["purpose"] == "research"
    assert entry["decision"] == "permit"
    assert "release:adult-test" in entry["reasons"] and "source:uci-adult" in entry["reasons"]
    released = pq.read_schema(tmp_path / "out" / "data.parquet").names
    assert entry["fields"] == sorted(released)  # what
    assert "citizen" not in entry and "records" not in entry  # the Adult data names no one
    assert outcome.record.summary["ledger"]["index"] == index


def test_a_release_that_does_not_pass_is_on_the_ledger_as_refused(
    tmp_path: Path, session_factory: sessionmaker[Session], ledger: Ledger
) -> None:
    spec = adult_spec(SMALL, qis=SMALL_QIS, risk_thresholds={"prosecutor_max": 0.01})
    with transaction(session_factory) as session:
        outcome = _run(session, spec, tmp_path / "out", ledger)
    assert not outcome.record.passed and outcome.ledger is not None
    entry = proven_entry(ledger, outcome.ledger["index"])
    assert entry["decision"] == "refuse" and entry["fields"] == []
    assert not (tmp_path / "out" / "data.parquet").exists()


def test_a_differential_privacy_spend_is_on_the_ledger(
    tmp_path: Path, session_factory: sessionmaker[Session], ledger: Ledger
) -> None:
    with transaction(session_factory) as session:
        service.set_budget(
            session, BudgetSet(dataset="uci-adult", recipient="example-university", epsilon=15)
        )
    with transaction(session_factory) as session:
        outcome = _run(session, DP_SPEC, tmp_path / "dp", ledger)
    assert outcome.ledger is not None
    entry = proven_entry(ledger, outcome.ledger["index"])
    assert entry["decision"] == "permit" and entry["organisation"] == "example-university"
    assert "epsilon:10" in entry["reasons"] and "epsilon_left:5" in entry["reasons"]
    assert "model:differential_privacy" in entry["reasons"]
    assert entry["fields"] == ["age", "salary-class"]
    assert "citizen" not in entry and "records" not in entry


def test_an_exhausted_budget_is_refused_on_the_ledger_before_any_output(
    tmp_path: Path, session_factory: sessionmaker[Session], ledger: Ledger
) -> None:
    with transaction(session_factory) as session:
        service.set_budget(
            session, BudgetSet(dataset="uci-adult", recipient="example-university", epsilon=9)
        )
    before = ledger_size(ledger)
    with transaction(session_factory) as session, pytest.raises(Problem) as caught:
        _run(session, DP_SPEC, tmp_path / "dp", ledger)
    assert caught.value.status == 409 and caught.value.kind == "budget-exhausted"
    assert _nothing_at(tmp_path / "dp")
    assert ledger_size(ledger) == before + 1
    entry = proven_entry(ledger, before)
    assert entry["decision"] == "refuse" and "refused:budget exhausted" in entry["reasons"]
    with transaction(session_factory) as session:
        assert service.get_budget(session, "uci-adult", "example-university").spends == []
    assert _releases(session_factory) == 0


def test_when_the_ledger_cannot_record_nothing_is_released(
    tmp_path: Path, session_factory: sessionmaker[Session], ledger: Ledger
) -> None:
    ledger.close()
    with transaction(session_factory) as session, pytest.raises(Problem) as caught:
        _run(session, adult_spec(SMALL, qis=SMALL_QIS), tmp_path / "out", ledger)
    assert caught.value.status == 503 and caught.value.kind == "ledger-unavailable"
    assert "nothing was released" in caught.value.detail
    assert _nothing_at(tmp_path / "out")
    assert _releases(session_factory) == 0


def test_a_database_run_without_a_ledger_is_refused(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    with transaction(session_factory) as session, pytest.raises(Problem) as caught:
        _run(session, adult_spec(SMALL, qis=SMALL_QIS), tmp_path / "out", None)
    assert caught.value.status == 503
    assert _nothing_at(tmp_path / "out")


# --- the demo world: each released citizen can find their record ----------------------------

CITIZENS = 1_500
SEED = 5


@pytest.fixture
def demo(engine: Engine, tmp_path: Path) -> Path:
    """The demo world in the database and, row for row the same, as Parquet files."""
    seed_database(engine, CITIZENS, SEED)
    folder = tmp_path / "world"
    write_parquet_world(folder, citizens=CITIZENS, seed=SEED)
    return folder


def _citizens_spec(world: Path) -> dict[str, Any]:
    names = pq.read_schema(world / "citizens.parquet").names
    fields: dict[str, Any] = {n: {"role": "direct_identifier", "action": "drop"} for n in names}
    fields["date_of_birth"] = {
        "role": "quasi_identifier",
        "hierarchy": {"type": "dates", "levels": ["year"]},
    }
    fields["sex"] = {"role": "quasi_identifier", "hierarchy": {"type": "suppress"}}
    fields["postcode"] = {"role": "quasi_identifier", "hierarchy": {"type": "postcode"}}
    return {
        "name": "citizens-research",
        "source": {"parquet": "citizens.parquet"},
        "recipient": "northmoor-university",
        "agreement": "DSA-2026-0007",
        "fields": fields,
        "privacy": {"model": "k_anonymity", "k": 5, "suppression_limit": 0.1},
    }


def test_each_released_citizen_of_the_demo_world_can_find_and_prove_their_record(
    demo: Path, tmp_path: Path, engine: Engine, ledger: Ledger
) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        outcome = _run(session, _citizens_spec(demo), tmp_path / "out", ledger, base=demo)
    assert outcome.record.passed and outcome.ledger is not None
    index = outcome.ledger["index"]
    entry = proven_entry(ledger, index)
    assert "citizen" not in entry
    assert entry["records"]["count"] == CITIZENS  # every citizen resolved, one row each
    source = pq.read_table(demo / "citizens.parquet").column("citizen_id").to_pylist()
    suppressed = set(
        pq.read_table(tmp_path / "out" / "internal" / "suppressed_rows.parquet")[0].to_pylist()
    )
    released = [c for i, c in enumerate(source) if i not in suppressed]
    withheld = [c for i, c in enumerate(source) if i in suppressed]
    assert withheld, "the suppression limit should have suppressed someone"
    with ledger.sessions() as session, session.begin():
        for citizen, expected in ((released[0], Outcome.PERMIT), (withheld[0], Outcome.REFUSE)):
            found = ledger_service.entries_for_citizen(session, citizen, ledger.keys.commitment)
            assert [f.index for f in found] == [index]
            record = found[0].record
            assert record is not None and record.decision is expected
            assert found[0].position is not None
            proof = ledger_service.record_proof(session, index, found[0].position)
            assert proof.record_hash == rfc_leaf(proof.record_input)
            assert rfc_verify_inclusion(
                found[0].position,
                proof.records_count,
                proof.record_hash,
                proof.record_path,
                proof.records_root,
            )
            assert proof.records_root.hex() == entry["records"]["root"]
        stranger = ledger_service.entries_for_citizen(
            session, CITIZENS + 99, ledger.keys.commitment
        )
        assert stranger == []


def test_a_registered_dataset_commits_to_the_citizens_its_records_were_matched_to(
    demo: Path, tmp_path: Path, engine: Engine, ledger: Ledger
) -> None:
    from trusthub.registry.models import Dataset, DatasetRecord, Organisation

    factory = make_session_factory(engine)
    with transaction(factory) as session:
        matched = session.scalars(
            select(DatasetRecord.citizen_id)
            .join(Dataset)
            .join(Organisation)
            .where(Organisation.slug == "riverside-eye", Dataset.slug == "eye-patients")
        ).all()
    spec = {
        "name": "eye-patients-research",
        "source": {"dataset": "riverside-eye/eye-patients"},
        "recipient": "deepmind-health",
        "agreement": "DSA-2016-0001",
        "fields": {
            **{
                n: {"role": "direct_identifier", "action": "drop"}
                for n in ("hospital_number", "nhs_number", "given_name", "family_name")
            },
            "clinic_visits": {"role": "direct_identifier", "action": "drop"},
            "date_of_birth": {"role": "quasi_identifier", "hierarchy": {"type": "suppress"}},
            "sex": {"role": "quasi_identifier", "hierarchy": {"type": "suppress"}},
            "postcode": {"role": "quasi_identifier", "hierarchy": {"type": "suppress"}},
            "diagnosis": {"role": "sensitive"},
            "clinic": {"role": "keep"},
            "oct_scan_count": {"role": "keep"},
        },
        "privacy": {"model": "k_anonymity", "k": 2, "suppression_limit": 0.5},
    }
    with transaction(factory) as session:
        outcome = _run(session, spec, tmp_path / "out", ledger, base=demo)
    assert outcome.record.passed and outcome.ledger is not None
    entry = proven_entry(ledger, outcome.ledger["index"])
    assert entry["records"]["count"] == len({c for c in matched if c is not None})
    assert entry["fields"] == [
        "clinic",
        "date_of_birth",
        "diagnosis",
        "oct_scan_count",
        "postcode",
        "sex",
    ]


# --- open publication ------------------------------------------------------------------------


@pytest.fixture
def open_client(client: TestClient, settings: Settings, tmp_path: Path) -> TestClient:
    settings.release_dir = tmp_path / "releases"
    settings.opendata_data_dir = tmp_path / "opendata"
    factory = make_session_factory(client.app.state.engine)  # type: ignore[attr-defined]
    with transaction(factory) as session:
        _organisation(session)
    return client


def test_a_passing_open_release_is_published_to_the_catalogue(
    open_client: TestClient, admin_headers: dict[str, str], tmp_path: Path
) -> None:
    made = open_client.post(
        "/api/v1/release/runs", json={"spec_yaml": yaml.safe_dump(_open_spec())},
        headers=admin_headers,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["report"]["passed"] and body["published"]["dataset"] == "adult-census-k5"
    shown = open_client.get("/api/3/action/package_show", params={"id": "adult-census-k5"})
    assert shown.status_code == 200, shown.text
    package = shown.json()["result"]
    assert package["organization"]["name"] == "ons"
    (resource,) = package["resources"]
    fields = open_client.get(
        "/api/3/action/datastore_search", params={"resource_id": resource["id"], "limit": 1}
    ).json()["result"]["fields"]
    names = {f["id"] for f in fields}
    assert {"salary_class", "sex", "age", "race"} <= names and "salary-class" not in names
    total = open_client.get(
        "/api/3/action/datastore_search", params={"resource_id": resource["id"], "limit": 0}
    ).json()["result"]["total"]
    assert total == body["report"]["records"]["released"]
    app = open_client.app
    entry = proven_entry(app.state.ledger, body["ledger"]["index"])  # type: ignore[attr-defined]
    assert entry["purpose"] == "open_publication" and entry["agreement"] is None
    assert entry["decision"] == "permit" and entry["organisation"] == "everyone"


def test_a_failing_open_release_is_refused_and_leaves_nothing(
    open_client: TestClient, admin_headers: dict[str, str], tmp_path: Path
) -> None:
    spec = _open_spec(risk_thresholds={"prosecutor_max": 0.01})
    ledger = open_client.app.state.ledger  # type: ignore[attr-defined]
    before = ledger_size(ledger)
    refused = open_client.post("/api/v1/release/runs", json={"spec": spec}, headers=admin_headers)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"].endswith("not-publishable")
    assert "risk report did not pass" in problem["detail"]
    assert "highest prosecutor risk" in problem["detail"]
    assert not (tmp_path / "releases").exists() or not any((tmp_path / "releases").iterdir())
    missing = open_client.get("/api/3/action/package_show", params={"id": "adult-census-k5"})
    assert missing.status_code == 404
    assert open_client.get("/api/v1/release/runs", headers=admin_headers).json() == []
    entry = proven_entry(ledger, before)
    assert entry["decision"] == "refuse" and entry["purpose"] == "open_publication"


def test_an_open_release_when_the_ledger_is_down_publishes_nothing(
    open_client: TestClient, admin_headers: dict[str, str], tmp_path: Path
) -> None:
    open_client.app.state.ledger.close()  # type: ignore[attr-defined]
    answer = open_client.post(
        "/api/v1/release/runs", json={"spec": _open_spec()}, headers=admin_headers
    )
    assert answer.status_code == 503 and answer.json()["type"].endswith("ledger-unavailable")
    assert not (tmp_path / "releases").exists() or not any((tmp_path / "releases").iterdir())
    factory = make_session_factory(open_client.app.state.engine)  # type: ignore[attr-defined]
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(OpenDataset)) == 0


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"publication": None}, "agreement 'open' publishes to the open-data catalogue"),
        ({"agreement": "DSA-2017-0042"}, "only a release with agreement 'open'"),
        (
            {"fields": {"age": {"role": "direct_identifier", "action": "pseudonymise"}}},
            "pseudonyms are never openly published",
        ),
    ],
)
def test_open_publication_must_be_said_in_full(change: dict[str, Any], where: str) -> None:
    spec = _open_spec()
    if "fields" in change:
        spec["fields"] = {**spec["fields"], **change["fields"]}
    else:
        spec.update(change)
        spec = {k: v for k, v in spec.items() if v is not None}
    with pytest.raises(Problem) as caught:
        service.parse_spec(spec)
    assert where in str(caught.value.errors)


def test_an_open_release_for_an_unknown_publisher_fails_before_any_output(
    tmp_path: Path, session_factory: sessionmaker[Session], ledger: Ledger
) -> None:
    before = ledger_size(ledger)
    with transaction(session_factory) as session, pytest.raises(Problem) as caught:
        _run(session, _open_spec(), tmp_path / "out", ledger, opendata_dir=tmp_path / "od")
    assert "no organisation 'ons'" in caught.value.detail
    assert _nothing_at(tmp_path / "out") and ledger_size(ledger) == before


def test_the_cli_publishes_a_passing_open_release(
    tmp_path: Path, database_url: str, session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from trusthub.cli import app

    with transaction(session_factory) as session:
        _organisation(session)
    monkeypatch.setenv("TRUSTHUB_OPENDATA_DATA_DIR", str(tmp_path / "opendata"))
    get_settings.cache_clear()
    spec_path = tmp_path / "open.yaml"
    spec_path.write_text(yaml.safe_dump(_open_spec()))
    try:
        result = CliRunner().invoke(
            app,
            [
                "release", "run", str(spec_path), "--out", str(tmp_path / "out"),
                "--by", "tester", "--database-url", database_url,
            ],
        )  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "published to the catalogue: adult-census-k5" in result.output
    assert "on the ledger at index" in result.output
    with transaction(session_factory) as session:
        names = session.scalars(select(OpenDataset.name)).all()
    assert names == ["adult-census-k5"]


def test_a_dicom_release_is_an_aggregate_entry_on_the_ledger(
    tmp_path: Path, session_factory: sessionmaker[Session], ledger: Ledger
) -> None:
    import shutil

    from pydicom.data import get_testdata_file

    scans = tmp_path / "scans"
    scans.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        shutil.copyfile(str(get_testdata_file(name)), scans / name)
    with transaction(session_factory) as session:
        manifest = service.deidentify_folder(
            session, scans, tmp_path / "out", name="scans", recipient="deepmind-health",
            agreement="DSA-2016-0001", released_by="release-officer", key=KEY, ledger=ledger,
        )  # fmt: skip
    assert manifest["counts"]["released"] == 2
    with transaction(session_factory) as session:
        (record,) = service.list_releases(session)
    entry = proven_entry(ledger, record.summary["ledger"]["index"])
    assert entry["decision"] == "permit" and entry["agreement"] == "DSA-2016-0001"
    assert "model:dicom" in entry["reasons"] and "files_released:2" in entry["reasons"]
    assert "citizen" not in entry and "records" not in entry
