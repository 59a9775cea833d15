"""The demo world as tables: Parquet files' shapes and the database's rows, still without I/O.

The database's ids are given out here, in the world's fixed order, so the same seed gives the
same rows with the same ids; ``IdCounters`` carries them from block to block.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trusthub.consent.models import ChoiceAction, ChoiceKind
from trusthub.demo import strings
from trusthub.demo.copies import dates, timestamps
from trusthub.demo.organisations import ORGANISATIONS, DatasetSpec, all_datasets, dataset_key
from trusthub.demo.people import OPT_OUT_CHANNELS, People
from trusthub.demo.world import WorldBlock

CREATED_AT = datetime(2025, 1, 1, tzinfo=UTC)
"""Every seeded row's created_at: the world's today, so that seeding twice gives equal rows."""

DATABASE_TABLES = (
    "organisations",
    "datasets",
    "dataset_fields",
    "citizens",
    "citizen_addresses",
    "choice_events",
    "dataset_records",
)
"""The tables a seed fills, parents first."""

_CHANNELS = strings.vocabulary(OPT_OUT_CHANNELS)
_SEX = strings.vocabulary(["male", "female"])


def _constant(value: object, size: int, type_: pa.DataType) -> pa.Array:
    return pa.array([value], type=type_).take(pa.array(np.zeros(size, dtype=np.int32)))


def citizens_table(people: People) -> pa.Table:
    """citizens.parquet: the ground truth, current and previous address side by side."""
    return pa.table(
        {
            "citizen_id": pa.array(people.citizen_id),
            "nhs_number": people.nhs_number,
            "nino": people.nino,
            "sex": _SEX.take(pa.array(people.female.astype(np.int8))),
            "given_name": people.given_name(),
            "middle_name": people.middle_name(),
            "family_name": people.family_name(),
            "birth_family_name": people.birth_family_name(),
            "name_changed_on": dates(people.name_changed_on),
            "date_of_birth": dates(people.birth),
            "address_line1": people.current.line1,
            "town": people.town_name(people.current),
            "postcode": people.current.postcode,
            "moved_in": dates(people.moved_in),
            "previous_address_line1": people.previous.line1,
            "previous_town": people.town_name(people.previous),
            "previous_postcode": people.previous.postcode,
            "previous_moved_in": dates(people.previous_moved_in),
            "opted_out": pa.array(people.opted_out),
        }
    )


def choice_events_table(people: People) -> pa.Table:
    """choice_events.parquet: one national data opt-out event per citizen who opted out."""
    rows = np.flatnonzero(people.opted_out)
    size = rows.shape[0]
    return pa.table(
        {
            "citizen_id": pa.array(people.citizen_id[rows]),
            "kind": _constant(ChoiceKind.NATIONAL_DATA_OPT_OUT.value, size, pa.string()),
            "action": _constant(ChoiceAction.SET.value, size, pa.string()),
            "scope": pa.nulls(size, pa.string()),
            "channel": _CHANNELS.take(pa.array(people.opt_out_channel[rows])),
            "occurred_at": timestamps(people.opted_out_at[rows]),
        }
    )


def registry_tables() -> dict[str, pa.Table]:
    """organisations, datasets and dataset_fields, with their ids."""
    org_rows: list[dict[str, object]] = []
    dataset_rows: list[dict[str, object]] = []
    field_rows: list[dict[str, object]] = []
    for org_id, org in enumerate(ORGANISATIONS, start=1):
        org_rows.append(
            {
                "id": org_id,
                "slug": org.slug,
                "name": org.name,
                "kind": org.kind.value,
                "dpo_name": org.dpo_name,
                "dpo_email": org.dpo_email,
                "created_at": CREATED_AT,
            }
        )
        for dataset in org.datasets:
            dataset_id = len(dataset_rows) + 1
            dataset_rows.append(
                {
                    "id": dataset_id,
                    "organisation_id": org_id,
                    "slug": dataset.slug,
                    "title": dataset.title,
                    "description": dataset.description,
                    "record_key": dataset.record_key,
                    "created_at": CREATED_AT,
                }
            )
            for position, spec in enumerate(dataset.fields):
                field_rows.append(
                    {
                        "id": len(field_rows) + 1,
                        "dataset_id": dataset_id,
                        "position": position,
                        "name": spec.name,
                        "classification": spec.classification.value,
                        "description": spec.description,
                    }
                )
    stamp = pa.timestamp("s", tz="UTC")
    return {
        "organisations": pa.Table.from_pylist(org_rows).cast(
            pa.schema(
                [
                    ("id", pa.int64()),
                    ("slug", pa.string()),
                    ("name", pa.string()),
                    ("kind", pa.string()),
                    ("dpo_name", pa.string()),
                    ("dpo_email", pa.string()),
                    ("created_at", stamp),
                ]
            )
        ),
        "datasets": pa.Table.from_pylist(dataset_rows).cast(
            pa.schema(
                [
                    ("id", pa.int64()),
                    ("organisation_id", pa.int64()),
                    ("slug", pa.string()),
                    ("title", pa.string()),
                    ("description", pa.string()),
                    ("record_key", pa.string()),
                    ("created_at", stamp),
                ]
            )
        ),
        "dataset_fields": pa.Table.from_pylist(field_rows),
    }


def dataset_ids() -> dict[str, int]:
    """Each ``org.dataset`` key's id, as registry_tables gives them out."""
    return {dataset_key(o, d): n for n, (o, d) in enumerate(all_datasets(), start=1)}


@dataclass
class IdCounters:
    """The next id of each table, carried across blocks."""

    next_id: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DATABASE_TABLES, 1))

    def take(self, table: str, count: int) -> pa.Array:
        first = self.next_id[table]
        self.next_id[table] = first + count
        return pa.array(np.arange(first, first + count, dtype=np.int64))


def database_rows(world: WorldBlock, ids: IdCounters) -> Iterator[tuple[str, pa.Table]]:
    """One block's rows for each database table, with ids, in an order foreign keys accept."""
    people = world.people
    size = len(people)
    yield (
        "citizens",
        pa.table(
            {
                "id": pa.array(people.citizen_id),
                "nhs_number": people.nhs_number,
                "nino": people.nino,
                "given_name": people.given_name(),
                "family_name": people.family_name(),
                "birth_family_name": people.birth_family_name(),
                "date_of_birth": dates(people.birth),
                "created_at": _constant(CREATED_AT, size, pa.timestamp("s", tz="UTC")),
            }
        ),
    )
    yield "citizen_addresses", _addresses(people, ids)
    events = choice_events_table(people)
    yield (
        "choice_events",
        events.add_column(0, "id", ids.take("choice_events", events.num_rows)).append_column(
            "recorded_at", events.column("occurred_at")
        ),
    )
    by_key = dataset_ids()
    specs = {dataset_key(o, d): d for o, d in all_datasets()}
    for key, copy in world.copies.items():
        yield (
            "dataset_records",
            pa.table(
                {
                    "id": ids.take("dataset_records", copy.num_rows),
                    "dataset_id": _constant(by_key[key], copy.num_rows, pa.int64()),
                    "citizen_id": copy.column("citizen_id"),
                    "local_id": copy.column("local_id"),
                    "data": json_objects(copy, specs[key]),
                    "updated_at": copy.column("updated_at"),
                }
            ),
        )


def _addresses(people: People, ids: IdCounters) -> pa.Table:
    """Each citizen's previous address (if any) then current one, in citizen order."""
    moved = np.flatnonzero(people.moved)
    citizen = np.concatenate([people.citizen_id[moved], people.citizen_id])
    current = np.concatenate([np.zeros(moved.shape[0], bool), np.ones(len(people), bool)])
    order = np.lexsort((current, citizen))
    previous, now = people.previous, people.current
    line1 = pa.concat_arrays([previous.line1.take(moved), now.line1]).take(order)
    town = pa.concat_arrays([people.town_name(previous, moved), people.town_name(now)]).take(order)
    postcode = pa.concat_arrays([previous.postcode.take(moved), now.postcode]).take(order)
    moved_in = np.concatenate([people.previous_moved_in[moved], people.moved_in])[order]
    moved_out = np.concatenate(
        [people.moved_in[moved], np.full(len(people), np.datetime64("NaT"), "datetime64[D]")]
    )[order]
    return pa.table(
        {
            "id": ids.take("citizen_addresses", citizen.shape[0]),
            "citizen_id": pa.array(citizen[order]),
            "line1": line1,
            "town": town,
            "postcode": postcode,
            "moved_in": dates(moved_in),
            "moved_out": dates(moved_out),
        }
    )


def _json_value(column: pa.Array) -> pa.Array:
    """Each value as JSON text; the world's strings need no escaping (the tests check)."""
    kind = column.type
    if pa.types.is_string(kind):
        text = strings.join('"', column, '"')
    elif pa.types.is_boolean(kind):
        text = pc.if_else(column, "true", "false")
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        text = pc.cast(column, pa.string())
    elif pa.types.is_date(kind):
        text = strings.join('"', pc.cast(column, pa.string()), '"')
    elif pa.types.is_list(kind):
        items = pc.binary_join(pc.cast(column, pa.list_(pa.string())), '","')
        text = pc.if_else(
            pc.equal(pc.list_value_length(column), 0), "[]", strings.join('["', items, '"]')
        )
    else:
        raise TypeError(f"no JSON encoding for {kind}")
    return pc.fill_null(text, "null")


def json_objects(copy: pa.Table, spec: DatasetSpec) -> pa.Array:
    """Each record's fields as one JSON object, keys in the dataset's field order."""
    parts: list[pa.Array | str] = []
    for position, name in enumerate(spec.field_names):
        parts.append(("{" if position == 0 else ",") + f'"{name}":')
        parts.append(_json_value(copy.column(name).combine_chunks()))
    parts.append("}")
    if copy.num_rows == 0:
        return pa.array([], type=pa.string())
    return strings.join(*parts)
