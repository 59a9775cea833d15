"""The demo world's citizens, the ground truth every department's copy is measured against.

One call builds one block of citizens with numpy and Arrow only: sex, a birth date from a UK-like
age pyramid, given and family names from rank-skewed lists (by birth era), a valid unique NHS
number and NINO (NINOs from age 16), a current address with a valid postcode in its town's real
postcode area, for about 20% a previous address, for about 10% of adult women (8% of all women)
a surname changed since birth, and for 5% (exactly, in every block) a national data opt-out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from trusthub.demo import strings, vocab
from trusthub.demo.randomness import (
    WORLD_DATE,
    Block,
    age_on,
    block_rng,
    uniform_days,
    uniform_seconds,
    years_after,
)
from trusthub.demo.vector_ids import nhs_numbers, ninos, postcode_inwards

FEMALE_SHARE = 0.507
MIDDLE_NAME_SHARE = 0.6
MOVED_SHARE = 0.20
SURNAME_CHANGED_SHARE_OF_ADULT_WOMEN = 0.10
OPT_OUT_SHARE = 0.05
OPT_OUT_LAUNCH = np.datetime64("2018-05-25", "D")
"""The national data opt-out opened on 25 May 2018; no opt-out in the world is older."""

OPT_OUT_CHANNELS = ("web", "gp_practice", "phone", "post")
OPT_OUT_CHANNEL_WEIGHTS = (0.68, 0.17, 0.10, 0.05)

# UK population (thousands) by single year of age at a few ages, interpolated in between.
_AGE_ANCHORS = (0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 94)
_AGE_COUNTS = (690, 760, 800, 760, 780, 850, 900, 890, 850, 830, 900, 930, 850, 740, 700, 620,
               420, 280, 130, 60)  # fmt: skip
AGE_WEIGHTS = np.interp(np.arange(95), _AGE_ANCHORS, _AGE_COUNTS)
AGE_WEIGHTS /= AGE_WEIGHTS.sum()
"""Share of citizens at each age 0-94: a plausible UK pyramid, so births fall in 1930-2024."""

GIVEN_NAMES = strings.vocabulary(vocab.GIVEN_NAMES)
SURNAMES = strings.vocabulary(vocab.SURNAME_LIST)
_SURNAME_WEIGHTS = vocab.zipf_weights(len(vocab.SURNAME_LIST))
_STREETS = strings.vocabulary(vocab.STREET_NAMES)
_STREET_WEIGHTS = vocab.zipf_weights(len(vocab.STREET_NAMES), offset=30.0)
_HOUSE_NUMBERS = strings.vocabulary([f"{n} " for n in range(1, 301)])
_FLATS = strings.vocabulary(["", *(f"Flat {n}, " for n in range(1, 41))])
TOWN_NAMES = strings.vocabulary([t.name for t in vocab.TOWNS])
_TOWN_WEIGHTS = np.array([t.weight for t in vocab.TOWNS]) / sum(t.weight for t in vocab.TOWNS)
_DISTRICTS = strings.vocabulary([d for t in vocab.TOWNS for d in t.districts])
_DISTRICT_COUNT = np.array([len(t.districts) for t in vocab.TOWNS])
_DISTRICT_START = np.concatenate([[0], np.cumsum(_DISTRICT_COUNT)[:-1]])
_INWARDS = postcode_inwards()


@dataclass(frozen=True, slots=True)
class Address:
    """Addresses of a block's citizens as columns; the town is an index into vocab.TOWNS."""

    town: np.ndarray
    line1: pa.Array
    postcode: pa.Array


@dataclass(frozen=True, slots=True)
class People:
    """One block of citizens: numpy columns to derive copies from, Arrow columns to write.

    ``line1_then_previous`` and ``postcode_then_previous`` hold the current values of every
    citizen followed by the previous ones, so a copy takes either kind in one ``take``.
    """

    citizen_id: np.ndarray
    female: np.ndarray
    birth: np.ndarray
    age: np.ndarray
    given_code: np.ndarray
    middle_code: np.ndarray
    family_code: np.ndarray
    birth_family_code: np.ndarray
    name_changed_on: np.ndarray
    nhs_number: pa.Array
    nino: pa.Array
    current: Address
    moved_in: np.ndarray
    moved: np.ndarray
    previous: Address
    previous_moved_in: np.ndarray
    line1_then_previous: pa.Array
    postcode_then_previous: pa.Array
    opted_out: np.ndarray
    opted_out_at: np.ndarray
    opt_out_channel: np.ndarray

    def __len__(self) -> int:
        return int(self.citizen_id.shape[0])

    def given_name(self, rows: np.ndarray | None = None) -> pa.Array:
        """Given names, of all the block's citizens or of the given rows."""
        return strings.take(GIVEN_NAMES, _subset(self.given_code, rows))

    def middle_name(self, rows: np.ndarray | None = None) -> pa.Array:
        return strings.take(GIVEN_NAMES, _subset(self.middle_code, rows))

    def family_name(self, rows: np.ndarray | None = None) -> pa.Array:
        return strings.take(SURNAMES, _subset(self.family_code, rows))

    def birth_family_name(self, rows: np.ndarray | None = None) -> pa.Array:
        return strings.take(SURNAMES, _subset(self.birth_family_code, rows))

    def town_name(self, address: Address, rows: np.ndarray | None = None) -> pa.Array:
        return strings.take(TOWN_NAMES, _subset(address.town, rows))


def _subset(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return values if rows is None else values[rows]


def _ranked_choice(rng: np.random.Generator, codes: np.ndarray, size: int) -> np.ndarray:
    result: np.ndarray = codes[
        rng.choice(codes.shape[0], size=size, p=vocab.zipf_weights(len(codes)))
    ]
    return result


def _given_names(
    rng: np.random.Generator, female: np.ndarray, birth_year: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Given and middle name codes, drawn from the popular names of each person's birth era."""
    era = np.searchsorted(vocab.GIVEN_NAME_ERA_STARTS, birth_year, side="right") - 1
    given = np.empty(female.shape[0], dtype=np.int32)
    middle = np.full(female.shape[0], -1, dtype=np.int32)
    has_middle: np.ndarray = rng.random(len(female)) < MIDDLE_NAME_SHARE
    for sex, is_sex in (("F", female), ("M", ~female)):
        for number in range(len(vocab.GIVEN_NAME_ERA_STARTS)):
            rows = np.flatnonzero(is_sex & (era == number))
            codes = vocab.given_name_codes(sex, number)
            given[rows] = _ranked_choice(rng, codes, rows.shape[0])
            middle_rows = rows[has_middle[rows]]
            middle[middle_rows] = _ranked_choice(rng, codes, middle_rows.shape[0])
    middle[middle == given] = -1
    return given, middle


def _surnames(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.choice(len(vocab.SURNAME_LIST), size=size, p=_SURNAME_WEIGHTS).astype(np.int32)


def addresses(rng: np.random.Generator, town: np.ndarray) -> Address:
    """A street address and a valid postcode in one of the town's real postcode districts."""
    size = len(town)
    district = _DISTRICT_START[town] + np.floor(rng.random(size) * _DISTRICT_COUNT[town]).astype(
        np.int64
    )
    inward: np.ndarray = rng.integers(0, len(_INWARDS), size=size)
    postcode = strings.join(_rows(_DISTRICTS, district), _rows(_INWARDS, inward), separator=" ")
    house: np.ndarray = np.minimum(rng.geometric(1 / 45, size=size), 300) - 1
    street = rng.choice(len(vocab.STREET_NAMES), size=size, p=_STREET_WEIGHTS)
    flat = np.where(rng.random(size) < 0.1, rng.integers(1, len(_FLATS), size=size), 0)
    line1 = strings.join(_rows(_FLATS, flat), _rows(_HOUSE_NUMBERS, house), _rows(_STREETS, street))
    return Address(town=town.astype(np.int16), line1=line1, postcode=postcode)


def _rows(values: pa.Array, rows: np.ndarray) -> pa.Array:
    return values.take(pa.array(rows))


def _towns(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.choice(len(vocab.TOWNS), size=size, p=_TOWN_WEIGHTS).astype(np.int16)


def generate_people(seed: int, block: Block) -> People:
    """The citizens of one block: the same seed and block always give the same people."""
    rng = block_rng(seed, block.index, "people")
    size = block.size
    index = np.arange(block.start, block.stop, dtype=np.int64)
    female = rng.random(size) < FEMALE_SHARE

    age_drawn = rng.choice(AGE_WEIGHTS.shape[0], size=size, p=AGE_WEIGHTS)
    days_back = np.floor((age_drawn + rng.random(size)) * 365.25).astype(np.int64) + 1
    birth = WORLD_DATE - days_back.astype("timedelta64[D]")
    age = age_on(birth, WORLD_DATE)
    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970

    given, middle = _given_names(rng, female, birth_year)
    family = _surnames(rng, size)
    birth_family = np.full(size, -1, dtype=np.int32)
    changed = female & (age >= 20) & (rng.random(size) < SURNAME_CHANGED_SHARE_OF_ADULT_WOMEN)
    rows = np.flatnonzero(changed)
    birth_family[rows] = family[rows]
    new_family = _surnames(rng, rows.shape[0])
    new_family[new_family == family[rows]] += 1
    family[rows] = new_family % len(vocab.SURNAME_LIST)
    name_changed_on = np.full(size, np.datetime64("NaT"), dtype="datetime64[D]")
    name_changed_on[rows] = uniform_days(
        rng,
        years_after(birth[rows], 19),
        np.minimum(years_after(birth[rows], 50), WORLD_DATE - np.timedelta64(30, "D")),
    )

    town = _towns(rng, size)
    current = addresses(rng, town)
    earliest_move = np.maximum(
        birth + np.timedelta64(60, "D"), WORLD_DATE - np.timedelta64(4383, "D")
    )
    moved = (rng.random(size) < MOVED_SHARE) & (
        earliest_move < WORLD_DATE - np.timedelta64(30, "D")
    )
    moved_in = uniform_days(
        rng,
        np.where(moved, earliest_move, np.maximum(birth, WORLD_DATE - np.timedelta64(14610, "D"))),
        np.full(size, WORLD_DATE - np.timedelta64(14, "D")),
    )
    moved_in = np.maximum(moved_in, birth)
    movers = np.flatnonzero(moved)
    same_town = rng.random(movers.shape[0]) < 0.55
    previous_town = np.where(same_town, town[movers], _towns(rng, movers.shape[0]))
    moved_from = addresses(rng, previous_town)
    slot = np.full(size, -1, dtype=np.int64)
    slot[movers] = np.arange(movers.shape[0])
    previous = Address(
        town=np.where(
            moved, previous_town[np.maximum(slot, 0)] if movers.shape[0] else -1, -1
        ).astype(np.int16),
        line1=strings.take(moved_from.line1, slot),
        postcode=strings.take(moved_from.postcode, slot),
    )
    previous_moved_in = uniform_days(
        rng,
        np.maximum(birth, moved_in - np.timedelta64(5479, "D")),
        moved_in - np.timedelta64(30, "D"),
    )
    previous_moved_in = np.where(
        moved, np.maximum(previous_moved_in, birth), np.datetime64("NaT", "D")
    )

    # Exactly 5% of each block, so even a small demo world shows the national share.
    opted_out = np.zeros(size, dtype=bool)
    opted_out[rng.choice(size, size=round(size * OPT_OUT_SHARE), replace=False)] = True
    opted_out_at = uniform_seconds(
        rng,
        np.maximum(birth, OPT_OUT_LAUNCH),
        np.full(size, WORLD_DATE),
    )
    opted_out_at = np.where(opted_out, opted_out_at, np.datetime64("NaT", "s"))
    channel = rng.choice(len(OPT_OUT_CHANNELS), size=size, p=OPT_OUT_CHANNEL_WEIGHTS)

    return People(
        citizen_id=index + 1,
        female=female,
        birth=birth,
        age=age,
        given_code=given,
        middle_code=middle,
        family_code=family,
        birth_family_code=birth_family,
        name_changed_on=name_changed_on,
        nhs_number=nhs_numbers(index, seed),
        nino=ninos(index, seed, valid=age >= 16),
        current=current,
        moved_in=moved_in,
        moved=moved,
        previous=previous,
        previous_moved_in=previous_moved_in,
        line1_then_previous=pa.concat_arrays([current.line1, previous.line1]),
        postcode_then_previous=pa.concat_arrays([current.postcode, previous.postcode]),
        opted_out=opted_out,
        opted_out_at=opted_out_at,
        opt_out_channel=np.where(opted_out, channel, -1).astype(np.int8),
    )
