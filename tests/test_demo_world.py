"""The demo world: deterministic, valid identifiers, realistic coverage, errors at stated rates.

Validity is checked with ``trusthub.identifiers`` (the scalar rules), never with the vectorised
generator's own code; error rates are measured by comparing each copy with the ground truth.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from trusthub.consent.models import ChoiceEvent, ChoiceKind
from trusthub.db import make_engine
from trusthub.demo import errors, organisations, vocab
from trusthub.demo.randomness import permute
from trusthub.demo.service import AlreadySeeded, seed_database, write_parquet_world
from trusthub.demo.tables import citizens_table
from trusthub.demo.vector_ids import (
    driver_number_stem_strings,
    nhs_check_digits,
    nhs_numbers,
    ninos,
)
from trusthub.demo.world import WorldBlock, generate_world
from trusthub.identifiers import (
    is_valid_nhs_number,
    is_valid_nino,
    is_valid_postcode,
    nhs_check_digit,
    parse_postcode,
)
from trusthub.identity.models import Citizen
from trusthub.registry.models import Dataset, DatasetRecord, FieldClassification, Organisation

SEED = 2017
WORLD_SIZE = 20_000


@pytest.fixture(scope="module")
def world() -> WorldBlock:
    (block,) = generate_world(WORLD_SIZE, SEED)
    return block


@pytest.fixture(scope="module")
def truth(world: WorldBlock) -> dict[int, dict[str, Any]]:
    return {row["citizen_id"]: row for row in citizens_table(world.people).to_pylist()}


def _copies(world: WorldBlock) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    for key, table in world.copies.items():
        yield key, table.to_pylist()


# --- Determinism -----------------------------------------------------------------------------


def test_the_same_seed_builds_the_same_world_and_another_seed_another() -> None:
    first = list(generate_world(3_000, SEED))
    again = list(generate_world(3_000, SEED))
    other = list(generate_world(3_000, SEED + 1))
    for a, b, c in zip(first, again, other, strict=True):
        assert citizens_table(a.people).equals(citizens_table(b.people))
        assert not citizens_table(a.people).equals(citizens_table(c.people))
        assert a.copies.keys() == b.copies.keys()
        for key in a.copies:
            assert a.copies[key].equals(b.copies[key]), key
            assert not a.copies[key].equals(c.copies[key]), key


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def test_parquet_files_are_byte_identical_and_batch_size_changes_no_content(
    tmp_path: Path,
) -> None:
    write_parquet_world(tmp_path / "a", 4_000, SEED, batch_size=1_000)
    write_parquet_world(tmp_path / "b", 4_000, SEED, batch_size=1_000)
    report = write_parquet_world(tmp_path / "c", 4_000, SEED, batch_size=100_000)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    expected = {"citizens", "choice_events", "organisations", "datasets", "dataset_fields"} | {
        organisations.dataset_key(o, d) for o, d in organisations.all_datasets()
    }
    assert set(report.rows) == expected
    for name in expected:
        a = pq.read_table(tmp_path / "a" / f"{name}.parquet")
        c = pq.read_table(tmp_path / "c" / f"{name}.parquet")
        assert a.equals(c), name
        assert a.num_rows == report.rows[name]
    citizens = pq.read_table(tmp_path / "a" / "citizens.parquet")
    assert pq.ParquetFile(tmp_path / "a" / "citizens.parquet").metadata.num_row_groups == 4
    assert citizens.column("citizen_id").to_pylist() == list(range(1, 4_001))


def test_parquet_copies_are_flat_with_ground_truth_and_local_id(tmp_path: Path) -> None:
    write_parquet_world(tmp_path, 2_000, SEED)
    for org, dataset in organisations.all_datasets():
        table = pq.read_table(tmp_path / f"{organisations.dataset_key(org, dataset)}.parquet")
        assert table.column_names == [
            "citizen_id",
            "local_id",
            *dataset.field_names,
            "updated_at",
        ]
        assert table.column("local_id").equals(table.column(dataset.local_id))
        assert table.column("citizen_id").null_count == 0


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    tables = ["organisations", "datasets", "dataset_fields", "citizens", "citizen_addresses",
              "choice_events", "dataset_records"]  # fmt: skip
    with engine.connect() as connection:
        return {
            t: [tuple(r) for r in connection.execute(text(f"SELECT * FROM {t} ORDER BY id"))]
            for t in tables
        }


def test_two_seeds_of_the_same_world_give_identical_rows(
    sqlite_template: Path, tmp_path: Path
) -> None:
    dumps = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.db"
        shutil.copyfile(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
        seed_database(engine, 1_500, SEED, batch_size=700)
        dumps.append(_dump(engine))
        engine.dispose()
    assert dumps[0] == dumps[1]
    assert len(dumps[0]["citizens"]) == 1_500


# --- Identifiers -----------------------------------------------------------------------------


def test_every_identifier_and_postcode_is_valid_and_unique(world: WorldBlock) -> None:
    people = citizens_table(world.people)
    nhs = people.column("nhs_number").to_pylist()
    assert all(is_valid_nhs_number(n) for n in nhs)
    assert len(set(nhs)) == len(nhs)
    nino = [n for n in people.column("nino").to_pylist() if n is not None]
    assert all(is_valid_nino(n) for n in nino)
    assert len(set(nino)) == len(nino)
    postcodes = people.column("postcode").to_pylist()
    postcodes += [p for p in people.column("previous_postcode").to_pylist() if p]
    assert all(is_valid_postcode(p) for p in postcodes)


def test_only_people_aged_16_or_more_have_a_nino(truth: dict[int, dict[str, Any]]) -> None:
    today = date(2025, 1, 1)
    for row in truth.values():
        born = row["date_of_birth"]
        sixteen = date(born.year + 16, born.month, 28 if born.day == 29 else born.day)
        assert (row["nino"] is not None) == (sixteen <= today)


def test_identifiers_stay_unique_across_blocks() -> None:
    index = np.arange(0, 3_000_000, 7)
    assert len(set(nhs_numbers(index, SEED).to_pylist())) == index.shape[0]
    assert len(set(ninos(index, SEED).to_pylist())) == index.shape[0]


@settings(deadline=None)
@given(st.integers(1, 300), st.integers(1, 300), st.integers(0, 2**64 - 1))
def test_permute_is_a_bijection(rows: int, cols: int, key: int) -> None:
    result = permute(np.arange(rows * cols), rows, cols, key)
    assert np.array_equal(np.sort(result), np.arange(rows * cols))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 999_999_999), min_size=1, max_size=500))
def test_vectorised_nhs_check_digit_agrees_with_the_scalar_rule(bases: list[int]) -> None:
    vectorised = nhs_check_digits(np.array(bases, dtype=np.int64)).tolist()
    for base, check in zip(bases, vectorised, strict=True):
        expected = nhs_check_digit(f"{base:09d}")
        assert check == (-1 if expected is None else expected)


def test_every_town_postcode_district_is_real_and_in_the_towns_area() -> None:
    for town in vocab.TOWNS:
        for district in town.districts:
            parsed = parse_postcode(f"{district} 1AB")
            assert parsed.area == town.area


# DVLA driver numbers: a scalar reference written from the DVLA's published layout.
def _reference_stem(surname: str, born: date, female: bool, first: str, middle: str) -> str:
    letters = "".join(c for c in surname.upper() if "A" <= c <= "Z")
    if letters.startswith("MAC"):
        letters = "MC" + letters[3:]
    month = born.month + (50 if female else 0)
    initials = (first[:1] or "9").upper() + (middle[:1] or "9").upper()
    return (
        (letters[:5] + "99999")[:5]
        + str(born.year)[2]
        + f"{month:02d}{born.day:02d}"
        + str(born.year)[3]
        + initials
    )


_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ' -", max_size=14)
_FIRST = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1,
                 max_size=10)  # fmt: skip
_PERSON = st.tuples(
    st.one_of(_NAME, _NAME.map(lambda s: "Mac" + s), _NAME.map(lambda s: "MAC" + s)),
    st.dates(date(1900, 1, 1), date(2024, 12, 31)),
    st.booleans(),
    _FIRST,
    st.one_of(st.just(""), _FIRST),
)


@settings(deadline=None)
@given(st.lists(_PERSON, min_size=1, max_size=50))
def test_vectorised_driver_number_stem_agrees_with_the_published_rules(
    people: list[tuple[str, date, bool, str, str]],
) -> None:
    surnames, births, female, firsts, middles = zip(*people, strict=True)
    stems = driver_number_stem_strings(
        pa.array(surnames, pa.string()),
        np.array(births, dtype="datetime64[D]"),
        np.array(female),
        pa.array(firsts, pa.string()),
        pa.array([m or None for m in middles], pa.string()),
    ).to_pylist()
    assert stems == [_reference_stem(*person) for person in people]


def test_driver_numbers_follow_the_rules_for_the_true_person(
    world: WorldBlock, truth: dict[int, dict[str, Any]]
) -> None:
    licences = world.copies["dvla.driver-licences"].to_pylist()
    numbers = [r["driver_number"] for r in licences]
    assert len(set(numbers)) == len(numbers)
    for record in licences:
        person = truth[record["citizen_id"]]
        surname = (
            person["birth_family_name"]
            if person["birth_family_name"] and record["family_name"] != person["family_name"]
            else person["family_name"]
        )
        stem = _reference_stem(
            surname,
            person["date_of_birth"],
            person["sex"] == "female",
            person["given_name"],
            person["middle_name"] or "",
        )
        number = record["driver_number"]
        if record["family_name"] in (person["family_name"], person["birth_family_name"]):
            assert number[:13] == stem
        assert number[13] in "0123456789" and len(number) == 16


def test_world_strings_need_no_json_or_csv_escaping() -> None:
    words = [*vocab.GIVEN_NAMES, *vocab.SURNAME_LIST, *vocab.SHORT_FORMS, *vocab.STREET_NAMES]
    words += [t.name for t in vocab.TOWNS]
    for word in words:
        assert word.isascii() and word.isprintable(), word
        assert not set(word) & set('"\\,\t\n'), word


# --- Shape of the world ----------------------------------------------------------------------


def test_opt_outs_are_about_five_per_cent(world: WorldBlock) -> None:
    share = world.people.opted_out.mean()
    assert 0.04 <= share <= 0.06
    events = world.people.opted_out_at[world.people.opted_out]
    assert (events >= np.datetime64("2018-05-25")).all()
    assert (events < np.datetime64("2025-01-01")).all()


def test_people_look_like_the_uk(world: WorldBlock, truth: dict[int, dict[str, Any]]) -> None:
    people = world.people
    assert 0.18 <= people.moved.mean() <= 0.22
    women = people.female
    changed = people.birth_family_code >= 0
    assert 0.06 <= changed[women].mean() <= 0.10
    assert not changed[~women].any()
    births = [row["date_of_birth"] for row in truth.values()]
    assert min(births) >= date(1930, 1, 1)
    assert max(births) <= date(2024, 12, 31)
    ages = people.age
    assert 0.15 <= (ages >= 65).mean() <= 0.23
    assert 0.17 <= (ages < 16).mean() <= 0.22
    surnames = Counter(row["family_name"] for row in truth.values())
    assert surnames.most_common(1)[0][0] == "Smith"
    assert surnames["Smith"] > 10 * surnames["Vaughan"]


COVERAGE = {
    "hmrc.paye-employments": (0.70, 0.80),
    "dwp.benefit-claims": (0.30, 0.40),
    "riverside-eye.eye-patients": (0.02, 0.04),
    "pennine-vale.council-tax": (0.06, 0.10),
    "northmoor-university.eye-health-cohort": (0.005, 0.015),
    "thistle-crown-bank.current-accounts": (0.27, 0.33),
    "albion-skyways.passengers": (0.13, 0.17),
}


@pytest.mark.parametrize(("key", "band"), COVERAGE.items())
def test_holders_cover_a_realistic_share_of_citizens(
    world: WorldBlock, key: str, band: tuple[float, float]
) -> None:
    share = world.copies[key].num_rows / WORLD_SIZE
    assert band[0] <= share <= band[1]


def test_dvla_holds_about_seventy_per_cent_of_adults(world: WorldBlock) -> None:
    adults = int((world.people.age >= 17).sum())
    assert 0.65 <= world.copies["dvla.driver-licences"].num_rows / adults <= 0.75


def test_oct_scans_match_the_patients_scan_counts(world: WorldBlock) -> None:
    patients = world.copies["riverside-eye.eye-patients"]
    scans = world.copies["riverside-eye.oct-scans"]
    counts = Counter(scans.column("citizen_id").to_pylist())
    for citizen, count in zip(
        patients.column("citizen_id").to_pylist(),
        patients.column("oct_scan_count").to_pylist(),
        strict=True,
    ):
        assert counts.get(citizen, 0) == count
    assert len(set(scans.column("scan_id").to_pylist())) == scans.num_rows


# --- Errors at their stated rates ------------------------------------------------------------


def _swapped(day: date) -> date | None:
    try:
        return date(day.year, day.day, day.month)
    except ValueError:
        return None


def _named_copies(world: WorldBlock) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    for key, rows in _copies(world):
        if "family_name" in world.copies[key].column_names:
            yield key, rows


def test_name_typos_and_short_forms_appear_at_their_rates(
    world: WorldBlock, truth: dict[int, dict[str, Any]]
) -> None:
    records = typos = short = 0
    for key, rows in _named_copies(world):
        for row in rows:
            person = truth[row["citizen_id"]]
            records += 1
            if "first_names" in row:
                expected = " ".join(filter(None, [person["given_name"], person["middle_name"]]))
                given_ok = row["first_names"] == expected
            else:
                is_short = row["given_name"] == vocab.NICKNAMES.get(person["given_name"])
                short += is_short
                given_ok = row["given_name"] == person["given_name"] or is_short
            family_ok = row["family_name"] in (person["family_name"], person["birth_family_name"])
            typos += not (given_ok and family_ok)
            assert key != "northmoor-university.eye-health-cohort"
    assert 0.02 <= typos / records <= 0.03
    shorts_possible = records - sum(
        world.copies[k].num_rows for k in world.copies if k.startswith("dvla")
    )
    assert 0.017 <= short / shorts_possible <= 0.023


def test_missing_fields_and_swapped_birth_dates_appear_at_their_rates(
    world: WorldBlock, truth: dict[int, dict[str, Any]]
) -> None:
    seen: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for key, rows in _copies(world):
        skip = errors.NOT_APPLIED.get(key, frozenset())
        fields = world.copies[key].column_names
        if key in ("northmoor-university.eye-health-cohort", "riverside-eye.oct-scans"):
            continue
        for row in rows:
            person = truth[row["citizen_id"]]
            if "date_of_birth" in fields:
                totals["swap"] += 1
                if (
                    row["date_of_birth"] is not None
                    and row["date_of_birth"] != person["date_of_birth"]
                ):
                    assert row["date_of_birth"] == _swapped(person["date_of_birth"])
                    seen["swap"] += 1
                if "missing_date_of_birth" not in skip:
                    totals["dob"] += 1
                    seen["dob"] += row["date_of_birth"] is None
            if "postcode" in fields and "missing_postcode" not in skip:
                totals["postcode"] += 1
                seen["postcode"] += row["postcode"] is None
            if "nino" in fields:
                totals["nino"] += 1
                seen["nino"] += row["nino"] is None
    assert 0.013 <= seen["dob"] / totals["dob"] <= 0.017
    assert 0.017 <= seen["postcode"] / totals["postcode"] <= 0.023
    assert 0.017 <= seen["nino"] / totals["nino"] <= 0.023
    assert 0.003 <= seen["swap"] / totals["swap"] <= 0.007


def _record_start(key: str, row: dict[str, Any], person: dict[str, Any]) -> date:
    if key == "dvla.driver-licences":
        born = person["date_of_birth"]
        return date(born.year + 17, born.month, 28 if born.day == 29 else born.day)
    return row["account_opened"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("key", ["dvla.driver-licences", "thistle-crown-bank.current-accounts"])
def test_most_movers_keep_their_old_address_at_some_holders(
    world: WorldBlock, truth: dict[int, dict[str, Any]], key: str
) -> None:
    movers = stale = 0
    for row in world.copies[key].to_pylist():
        person = truth[row["citizen_id"]]
        if person["previous_postcode"] is None or row["postcode"] is None:
            continue
        if row["updated_at"].date() < person["moved_in"]:
            assert row["postcode"] == person["previous_postcode"]
            assert row["address_line1"] == person["previous_address_line1"]
            stale += 1
        else:
            assert row["postcode"] == person["postcode"]
        movers += person["moved_in"] > _record_start(key, row, person)
    rate = errors.STALE_ADDRESS_RATES[key]
    assert movers > 300
    assert rate - 0.06 <= stale / movers <= rate + 0.06


def test_copies_are_snapshots_so_old_ones_keep_the_birth_surname(
    world: WorldBlock, truth: dict[int, dict[str, Any]]
) -> None:
    changed = old = 0
    for _, rows in _named_copies(world):
        for row in rows:
            person = truth[row["citizen_id"]]
            if person["birth_family_name"] is None:
                continue
            changed += 1
            before = row["updated_at"].date() < person["name_changed_on"]
            if row["family_name"] == person["birth_family_name"]:
                assert before
                old += 1
            elif row["family_name"] == person["family_name"]:
                assert not before
    assert changed > 300
    assert 0.05 <= old / changed <= 0.3


def test_error_table_is_documented() -> None:
    doc = errors.__doc__ or ""
    for name, rate in errors.ERROR_RATES.items():
        assert name in doc
        assert f"{rate:.1%}" in doc


# --- Databases -------------------------------------------------------------------------------


def test_seeds_a_database_with_classified_datasets_and_ground_truth(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    report = seed_database(engine, 2_500, SEED, batch_size=1_000)
    assert report.rows["citizens"] == 2_500
    with session_factory() as session:
        orgs = session.scalars(select(Organisation).order_by(Organisation.id)).all()
        assert [o.slug for o in orgs] == [o.slug for o in organisations.ORGANISATIONS]
        assert {o.kind for o in orgs} == {spec.kind for spec in organisations.ORGANISATIONS}
        for org in orgs:
            assert org.dpo_name and org.dpo_email.endswith(".example")
            assert 1 <= len(org.datasets) <= 2
            for dataset in org.datasets:
                names = [f.name for f in dataset.fields]
                assert dataset.record_key in names
                assert all(
                    isinstance(f.classification, FieldClassification) for f in dataset.fields
                )
                classes = {f.classification for f in dataset.fields}
                assert FieldClassification.DIRECT_IDENTIFIER in classes
        total = session.scalar(select(func.count()).select_from(DatasetRecord))
        assert total == report.rows["dataset_records"]
        dataset = session.scalars(select(Dataset).where(Dataset.slug == "eye-patients")).one()
        record = session.scalars(
            select(DatasetRecord).where(DatasetRecord.dataset_id == dataset.id).limit(1)
        ).one()
        assert list(record.data) == [f.name for f in dataset.fields]
        assert record.local_id == record.data["hospital_number"]
        assert isinstance(record.data["clinic_visits"], list)
        citizen = session.get(Citizen, record.citizen_id)
        assert citizen is not None
        assert citizen.current_address is not None
        assert is_valid_nhs_number(citizen.nhs_number)
        opted = session.scalar(
            select(func.count())
            .select_from(ChoiceEvent)
            .where(ChoiceEvent.kind == ChoiceKind.NATIONAL_DATA_OPT_OUT)
        )
        assert opted == report.rows["choice_events"]
        assert 0.03 <= (opted or 0) / 2_500 <= 0.07
        # The id sequences continue after the seeded rows.
        session.add(
            Citizen(
                nhs_number="9434765919",
                given_name="Test",
                family_name="Person",
                date_of_birth=date(1990, 1, 1),
            )
        )
        session.commit()
        assert session.scalar(select(func.max(Citizen.id))) == 2_501


def test_json_records_are_valid_json(engine: Engine) -> None:
    seed_database(engine, 800, SEED)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT data FROM dataset_records")).scalars().all()
    for data in rows:
        value = data if isinstance(data, dict) else json.loads(data)
        assert isinstance(value, dict)


def test_refuses_a_database_that_already_has_data(engine: Engine) -> None:
    seed_database(engine, 300, SEED)
    with pytest.raises(AlreadySeeded) as refused:
        seed_database(engine, 300, SEED)
    assert refused.value.citizens == 300


def test_cli_seeds_once_and_then_says_so(database_url: str) -> None:
    from trusthub.cli import app

    runner = CliRunner()
    args = ["demo", "seed", "--citizens", "400", "--seed", "5", "--database-url", database_url]
    first = runner.invoke(app, [*args, "--quiet"])
    assert first.exit_code == 0, first.output
    assert "seeded 400 citizens" in first.output
    again = runner.invoke(app, [*args, "--if-empty", "--quiet"])
    assert again.exit_code == 0
    assert "already seeded: 400 citizens" in again.output
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1
    engine = make_engine(database_url)
    with engine.connect() as connection:
        numbers = connection.execute(text("SELECT nhs_number FROM citizens")).scalars().all()
    engine.dispose()
    assert not any(n in first.output + again.output for n in numbers)


def test_cli_writes_parquet(tmp_path: Path) -> None:
    from trusthub.cli import app

    runner = CliRunner()
    args = ["demo", "seed", "--citizens", "300", "--parquet", str(tmp_path / "w"), "-q"]
    assert runner.invoke(app, args).exit_code == 0
    assert (tmp_path / "w" / "citizens.parquet").exists()
    assert runner.invoke(app, args).exit_code == 1
    assert runner.invoke(app, [*args, "--if-empty"]).exit_code == 0


def test_dates_are_consistent(truth: dict[int, dict[str, Any]]) -> None:
    for row in truth.values():
        assert row["moved_in"] >= row["date_of_birth"]
        if row["previous_moved_in"] is not None:
            assert row["date_of_birth"] <= row["previous_moved_in"] < row["moved_in"]
        if row["name_changed_on"] is not None:
            assert row["name_changed_on"] > row["date_of_birth"] + timedelta(days=18 * 365)
