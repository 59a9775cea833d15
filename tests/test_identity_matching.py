"""Matching on a small demo world: accuracy within goal, the extra question, the API and the CLI.

The world's ground truth (``citizen_id``) is read here only, to measure; the service never sees
it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from identity_world import World, assertion_form, build_world, new_ec_key, public
from trusthub.cli import app as cli_app
from trusthub.db import make_session_factory, transaction
from trusthub.demo.parquet import write_world
from trusthub.identity.matching import service
from trusthub.identity.oidc.registration import register_machine_client

HMRC = "hmrc.paye-employments"
DWP = "dwp.benefit-claims"
CITIZENS = 4000


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("matching")
    write_world(directory / "world", CITIZENS, 2017, 100_000, None)
    duckdb.execute(
        f"""copy (select citizen_id as reference, given_name, middle_name, family_name,
                  birth_family_name as former_family_name, date_of_birth, postcode,
                  previous_postcode
                  from read_parquet('{directory / "world" / "citizens.parquet"}'))
            to '{directory / "identities.parquet"}' (format parquet)"""
    )
    for department in (HMRC, DWP):
        service.prepare_department(
            directory / "store",
            department,
            directory / "world" / f"{department}.parquet",
            directory / "identities.parquet",
        )
    return directory


def _truth(world: Path, department: str) -> dict[str, str]:
    rows = duckdb.execute(
        f"select cast(citizen_id as varchar), local_id "
        f"from read_parquet('{world / 'world' / (department + '.parquet')}')"
    ).fetchall()
    return {str(r): str(local) for r, local in rows}


def _citizen(world: Path, citizen_id: int) -> dict[str, Any]:
    table = (
        duckdb.connect()
        .sql(
            f"select * from read_parquet('{world / 'world' / 'citizens.parquet'}') "
            f"where citizen_id = {int(citizen_id)}"
        )
        .to_arrow_table()
    )
    row: dict[str, Any] = table.to_pylist()[0]
    return row


def _identity(citizen: dict[str, Any]) -> dict[str, Any]:
    return {
        "given_name": citizen["given_name"],
        "middle_name": citizen["middle_name"],
        "family_name": citizen["family_name"],
        "former_family_name": citizen["birth_family_name"],
        "date_of_birth": citizen["date_of_birth"],
        "postcode": citizen["postcode"],
        "previous_postcode": citizen["previous_postcode"],
    }


def test_match_rates_stay_within_goal_on_records_with_realistic_errors(
    world: Path, tmp_path: Path
) -> None:
    summary = service.match_file(
        world / "store", HMRC, world / "identities.parquet", tmp_path / "out.parquet"
    )
    outcomes = pq.read_table(tmp_path / "out.parquet").to_pylist()
    truth = _truth(world, HMRC)
    correct = sum(
        1 for o in outcomes if o["local_id"] and truth.get(o["reference"]) == o["local_id"]
    )
    false = sum(1 for o in outcomes if o["local_id"] and truth.get(o["reference"]) != o["local_id"])
    assert summary.identities == CITIZENS == len(outcomes)
    assert correct / len(truth) >= 0.95
    assert false / len(outcomes) <= 0.001
    assert all((o["outcome"] == "match") == (o["local_id"] is not None) for o in outcomes)
    asked = [o for o in outcomes if o["question"]]
    assert all(o["outcome"] == "ambiguous" and o["question"] == "nino" for o in asked)


@pytest.fixture
def twin_store(world: Path, tmp_path: Path) -> tuple[Path, dict[str, Any], str]:
    """HMRC's records plus a second record for one citizen (same person, another NINO): her
    identity can no longer be matched without the extra question."""
    records = pq.read_table(world / "world" / f"{HMRC}.parquet")
    first = records.slice(0, 1).to_pylist()[0]
    twin = dict(first, local_id="EMP999999999", employment_id="EMP999999999", nino="ZX999999D")
    source = tmp_path / "records.parquet"
    pq.write_table(
        pa.concat_tables([records, pa.Table.from_pylist([twin], records.schema)]), source
    )
    store = tmp_path / "store"
    service.prepare_department(store, HMRC, source, None)
    shutil.copyfile(world / "store" / HMRC / "model.json", store / HMRC / "model.json")
    return store, _citizen(world, first["citizen_id"]), str(first["local_id"])


def _one(path: Path, identity: dict[str, Any], answer: str | None) -> Path:
    pq.write_table(pa.Table.from_pylist([{"reference": "r1", **identity, "answer": answer}]), path)
    return path


def test_an_ambiguous_identity_is_asked_one_question_and_the_answer_decides(
    twin_store: tuple[Path, dict[str, Any], str], tmp_path: Path
) -> None:
    store, citizen, local_id = twin_store
    identity = _identity(citizen)

    service.match_file(
        store, HMRC, _one(tmp_path / "a.parquet", identity, None), tmp_path / "1.parquet"
    )
    [first] = pq.read_table(tmp_path / "1.parquet").to_pylist()
    assert (first["outcome"], first["local_id"], first["question"]) == ("ambiguous", None, "nino")

    answered = _one(tmp_path / "b.parquet", identity, citizen["nino"].lower())
    service.match_file(store, HMRC, answered, tmp_path / "2.parquet")
    [second] = pq.read_table(tmp_path / "2.parquet").to_pylist()
    assert (second["outcome"], second["local_id"]) == ("match", local_id)

    wrong = _one(tmp_path / "c.parquet", identity, "AB123456C")
    service.match_file(store, HMRC, wrong, tmp_path / "3.parquet")
    [third] = pq.read_table(tmp_path / "3.parquet").to_pylist()
    assert (third["outcome"], third["local_id"], third["question"]) == ("no-match", None, None)


def test_one_identity_through_the_same_rules(
    twin_store: tuple[Path, dict[str, Any], str],
) -> None:
    store, citizen, local_id = twin_store
    matcher = service.Matcher(service.Store.of(store, HMRC))
    identity = _identity(citizen)
    assert matcher.match(identity, None, service.THRESHOLDS).question is not None
    decision = matcher.match(identity, citizen["nino"], service.THRESHOLDS)
    assert decision.local_id == local_id
    stranger = dict(identity, date_of_birth=None, family_name="Zzyzx", postcode="ZE3 9XX")
    stranger.update(previous_postcode=None, former_family_name=None)
    assert matcher.match(stranger, citizen["nino"], service.THRESHOLDS).outcome == "no-match"


# --- the API --------------------------------------------------------------------------------


@pytest.fixture
def hub(
    database_url: str, tmp_path: Path, signing_jwks: dict[str, Any], world: Path
) -> Iterator[World]:
    built = build_world(
        database_url, tmp_path / "keys", signing_jwks, identity_matching_dir=world / "store"
    )
    with built.client:
        yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def _token(hub: World, organisation: str, scopes: list[str]) -> dict[str, str]:
    key = new_ec_key()
    factory = make_session_factory(hub.client.app.state.engine)  # type: ignore[attr-defined]
    with transaction(factory) as session:
        client_id = register_machine_client(session, organisation, public(key), scopes=scopes)
    form = {"grant_type": "client_credentials", "scope": " ".join(scopes)}
    form.update(assertion_form(key, client_id))
    answer = hub.client.post("/oauth2/token", data=form)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _dwp_member(world: Path) -> tuple[dict[str, Any], str]:
    truth = _truth(world, DWP)
    reference, local_id = sorted(truth.items())[0]
    citizen = _citizen(world, int(reference))
    identity = {k: v for k, v in _identity(citizen).items() if v is not None}
    identity["date_of_birth"] = identity["date_of_birth"].isoformat()
    return identity, local_id


def test_a_department_matches_a_verified_identity_to_its_own_record(
    hub: World, world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identity, local_id = _dwp_member(world)
    headers = _token(hub, "dwp", ["matching"])
    answer = hub.client.post(
        "/identity/v1/match", json={"department": DWP, "identity": identity}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"outcome": "match", "local_id": local_id, "question": None}
    logged = capsys.readouterr()
    assert "matching.one" in logged.out + logged.err  # the logs were seen ...
    for value in (identity["family_name"], identity["given_name"], identity["date_of_birth"]):
        assert value not in logged.out + logged.err


def test_no_match_for_someone_the_department_does_not_hold(hub: World) -> None:
    headers = _token(hub, "dwp", ["matching"])
    nobody = {"given_name": "Zebedee", "family_name": "Quixotic", "date_of_birth": "1901-01-01"}
    answer = hub.client.post(
        "/identity/v1/match", json={"department": DWP, "identity": nobody}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "no-match"


def test_only_the_department_itself_with_the_matching_scope_may_match(
    hub: World, world: Path
) -> None:
    identity, _ = _dwp_member(world)
    body = {"department": DWP, "identity": identity}
    assert hub.client.post("/identity/v1/match", json=body).status_code == 401
    other = hub.client.post(
        "/identity/v1/match", json=body, headers=_token(hub, "bank", ["matching"])
    )
    assert other.status_code == 403
    assert other.headers["content-type"].startswith("application/problem+json")
    unscoped = _token(hub, "dwp", ["exchange"])
    assert hub.client.post("/identity/v1/match", json=body, headers=unscoped).status_code == 403
    nowhere = {"department": "dwp.nothing-here", "identity": identity}
    headers = _token(hub, "dwp", ["matching"])
    assert hub.client.post("/identity/v1/match", json=nowhere, headers=headers).status_code == 404
    bad = {"department": DWP, "identity": {**identity, "nhs_number": "x"}}
    assert hub.client.post("/identity/v1/match", json=bad, headers=headers).status_code == 422


# --- the CLI --------------------------------------------------------------------------------


def test_the_cli_matches_a_file_and_prints_counts_only(world: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.csv"
    result = CliRunner().invoke(
        cli_app,
        ["identity", "match", "--department", DWP, "--input", str(world / "identities.parquet"),
         "--output", str(output), "--store", str(world / "store")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{CITIZENS:,} identities" in result.output
    assert output.read_text().startswith('"reference","outcome","local_id","question"')
    missing = CliRunner().invoke(
        cli_app,
        ["identity", "match", "--department", "dwp.none", "--input",
         str(world / "identities.parquet"), "--store", str(world / "store")],
    )  # fmt: skip
    assert missing.exit_code == 1
