"""What every holder's copy shares: who is in it, how stale it is, and how it becomes a table.

A copy's ``citizen_id`` is the demo world's ground truth — the citizen the record really is —
kept so that matching can be measured. It is for tests and benchmarks only: no API may expose it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from trusthub.demo import strings
from trusthub.demo.errors import OLD_SURNAME_RATES, STALE_ADDRESS_RATES, inject
from trusthub.demo.organisations import DatasetSpec
from trusthub.demo.people import SURNAMES, TOWN_NAMES, People
from trusthub.demo.randomness import (
    WORLD_DATE,
    Block,
    block_rng,
    permute,
    uniform_seconds,
    world_key,
)

ONE_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True, slots=True)
class Members:
    """The people (rows of a People block) a holder has a record for, and what it missed."""

    rows: np.ndarray
    stale_address: np.ndarray
    old_surname: np.ndarray
    updated_at: np.ndarray

    def __len__(self) -> int:
        return int(self.rows.shape[0])


@dataclass(frozen=True, slots=True)
class Holder:
    """One dataset's copy being built for one block: its random streams and its members."""

    key: str
    spec: DatasetSpec
    seed: int
    block: Block
    people: People

    @property
    def rng(self) -> np.random.Generator:
        """A fresh generator for this holder and block, always the same: read it once."""
        return block_rng(self.seed, self.block.index, self.key)

    def enrol(
        self, rng: np.random.Generator, rows: np.ndarray, since: np.ndarray, refresh_years: float
    ) -> Members:
        """Members ``rows``, whose records began on ``since``; decide what each record missed.

        Each record is a snapshot as of its ``updated_at``: it has every move and change of
        surname before then and none after. A move or change after the record began is missed
        at the holder's stated rate, by drawing ``updated_at`` before it; otherwise the holder
        last refreshed the record within ``refresh_years`` of the world's today.
        """
        p = self.people
        size = rows.shape[0]
        since = np.maximum(since, p.birth[rows])
        moved_in = p.moved_in[rows]
        changed_on = p.name_changed_on[rows]
        moved = p.moved[rows]
        changed = p.birth_family_code[rows] >= 0
        stale = (
            moved & (moved_in > since) & (rng.random(size) < STALE_ADDRESS_RATES.get(self.key, 0.0))
        )
        old = (
            changed
            & (changed_on > since)
            & (rng.random(size) < OLD_SURNAME_RATES.get(self.key, 0.0))
        )
        missed = np.minimum(
            np.where(stale, moved_in, WORLD_DATE), np.where(old, changed_on, WORLD_DATE)
        )
        refresh = WORLD_DATE - np.timedelta64(round(refresh_years * 365.25), "D")
        known = np.maximum(since, refresh)
        known = np.where(moved & ~stale, np.maximum(known, moved_in), known)
        known = np.where(stale, np.maximum(known, p.previous_moved_in[rows]), known)
        known = np.where(changed & ~old, np.maximum(known, changed_on), known)
        known = np.minimum(known, missed - ONE_DAY)
        updated_at = uniform_seconds(rng, known, missed)
        # Where a missed event forced the snapshot before an event it should have had, it
        # misses that one too: the copy stays consistent with its own date.
        day = updated_at.astype("datetime64[D]")
        return Members(rows, moved & (moved_in > day), changed & (changed_on > day), updated_at)

    def family_codes(self, members: Members) -> np.ndarray:
        """Surname codes as the holder has them: the birth surname where the copy is old."""
        p, rows = self.people, members.rows
        result: np.ndarray = np.where(
            members.old_surname, p.birth_family_code[rows], p.family_code[rows]
        )
        return result

    def family_names(self, members: Members) -> pa.Array:
        return strings.take(SURNAMES, self.family_codes(members))

    def given_names(self, members: Members) -> pa.Array:
        return self.people.given_name(members.rows)

    def address(self, members: Members) -> tuple[pa.Array, pa.Array, pa.Array]:
        """Line 1, town and postcode as the holder has them (the old ones where stale)."""
        p, rows = self.people, members.rows
        town = np.where(members.stale_address, p.previous.town[rows], p.current.town[rows])
        positions = pa.array(np.where(members.stale_address, rows + len(p), rows))
        line1 = p.line1_then_previous.take(positions)
        postcode = p.postcode_then_previous.take(positions)
        return line1, strings.take(TOWN_NAMES, town), postcode

    def local_numbers(self, members: Members, digits: int) -> np.ndarray:
        """A distinct number of ``digits`` digits per citizen, scrambled with this holder's key."""
        return local_numbers(self.seed, self.key, self.people.citizen_id[members.rows] - 1, digits)

    def table(
        self,
        members: Members,
        columns: dict[str, pa.Array],
        given_codes: np.ndarray | None = None,
        errors: bool = True,
    ) -> pa.Table:
        """The copy as a table: ground truth, local id, the fields in order, updated_at."""
        if errors:
            inject(
                block_rng(self.seed, self.block.index, f"{self.key}/errors"),
                self.key,
                columns,
                given_codes,
            )
        missing = set(self.spec.field_names) ^ set(columns)
        if missing:
            raise ValueError(f"{self.key}: fields and columns differ: {sorted(missing)}")
        data = {
            "citizen_id": pa.array(self.people.citizen_id[members.rows]),
            "local_id": columns[self.spec.local_id],
        }
        data.update({name: columns[name] for name in self.spec.field_names})
        data["updated_at"] = timestamps(members.updated_at)
        return pa.table(data)


def local_numbers(seed: int, purpose: str, index: np.ndarray, digits: int) -> np.ndarray:
    rows = 10 ** (digits // 2)
    return permute(index, rows, 10**digits // rows, world_key(seed, purpose))


def dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Days (numpy datetime64) as an Arrow date32 column; NaT, or not ``valid``, is null."""
    values = days.astype("datetime64[D]")
    mask = np.isnat(values) if valid is None else (~valid | np.isnat(values))
    return pa.array(
        np.where(mask, 0, values.astype(np.int64)).astype(np.int32),
        type=pa.date32(),
        mask=mask if mask.any() else None,
    )


def timestamps(seconds: np.ndarray) -> pa.Array:
    """Seconds (numpy datetime64) as an Arrow UTC timestamp column."""
    values = seconds.astype("datetime64[s]")
    mask = np.isnat(values)
    return pa.array(
        np.where(mask, 0, values.astype(np.int64)),
        type=pa.timestamp("s", tz="UTC"),
        mask=mask if mask.any() else None,
    )


def choose(rng: np.random.Generator, values: pa.Array, weights: np.ndarray, size: int) -> pa.Array:
    """``size`` draws from a small list of values with the given weights."""
    p = np.asarray(weights, dtype=np.float64)
    return values.take(pa.array(rng.choice(len(values), size=size, p=p / p.sum())))


def by_group(rng: np.random.Generator, group: np.ndarray, table: np.ndarray) -> np.ndarray:
    """For each row, an index drawn with the weights in ``table[group]`` (one row per group)."""
    groups, choices = table.shape
    cumulative = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
    cumulative[:, -1] = 1.0
    # Offset each group's cumulative weights by its number, so one sorted search serves all.
    flat = (cumulative + np.arange(groups)[:, None]).ravel()
    position = np.searchsorted(flat, rng.random(group.shape[0]) + group, side="right")
    result: np.ndarray = np.minimum(position - group * choices, choices - 1)
    return result
