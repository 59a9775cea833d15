"""Where the demo world's randomness comes from, so that a seed, and nothing else, fixes the world.

The world is generated in fixed blocks of ``BLOCK_SIZE`` citizens. Each block, and each stream
within it ("people", "dwp/benefit-claims", ...), draws from its own generator derived from
``SeedSequence([seed, block, stream])``; so the world never depends on batch sizes, timing or
threads, and adding a stream does not disturb the others. Identifiers that must be unique across
the whole world come from keyed bijections of the citizen's index (``permute``), not from
sampling with rejection.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

WORLD_DATE = np.datetime64("2025-01-01", "D")
"""The demo world's "today": every date in it lies before this, whatever the real date."""

BLOCK_SIZE = 1 << 18
"""Citizens per generation block; fixed, so the world does not depend on any batch size."""

MAX_CITIZENS = 100_000_000
"""The identifier spaces (NHS numbers, NINOs, local references) hold at least this many."""


@dataclass(frozen=True, slots=True)
class Block:
    """A run of consecutive citizen indices generated together from one random stream."""

    index: int
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


def blocks(citizens: int) -> Iterator[Block]:
    """The generation blocks of a world of ``citizens`` people, in order."""
    if not 0 <= citizens <= MAX_CITIZENS:
        raise ValueError(f"the demo world holds 0 to {MAX_CITIZENS:,} citizens")
    for number, start in enumerate(range(0, citizens, BLOCK_SIZE)):
        yield Block(number, start, min(start + BLOCK_SIZE, citizens))


def stream_number(name: str) -> int:
    """A stable number for a stream's name (Python's hash() changes between runs)."""
    return zlib.crc32(name.encode())


def block_rng(seed: int, block: int, stream: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, block, stream_number(name=stream)]))


def world_key(seed: int, purpose: str) -> int:
    """A 64-bit key for one of the world's bijections, derived from the seed."""
    state = np.random.SeedSequence([seed, stream_number(purpose)]).generate_state(2, np.uint64)
    return int(state[0])


def hash32(values: np.ndarray, key: int) -> np.ndarray:
    """A keyed multiply-xorshift hash of 32-bit integers: cheap, and mixed well enough here."""
    z = values.astype(np.uint32) * np.uint32(0x9E3779B1)
    z += np.uint32(key & 0xFFFFFFFF)
    z ^= z >> np.uint32(15)
    z *= np.uint32(0x846CA68B)
    z ^= z >> np.uint32(16)
    z *= np.uint32(0x7FEB352D | 1)
    z ^= z >> np.uint32(15)
    return z


def permute(index: np.ndarray, rows: int, cols: int, key: int, rounds: int = 3) -> np.ndarray:
    """A keyed bijection of [0, rows*cols) onto itself (an unbalanced Feistel network).

    Each round adds a keyed hash of the high part to the low part, then swaps the two parts;
    every round is invertible, so distinct indices always give distinct results.
    """
    if rows * cols > 1 << 32 or max(rows, cols) > 1 << 31:
        raise ValueError("permute works on domains of at most 2**32 values")
    x = index.astype(np.uint32)
    for number in range(rounds):
        divisor = np.uint32(cols)
        high, low = np.divmod(x, divisor)
        round_key = (key >> (number * 16)) ^ (key >> 40) ^ (number * 0x9E3779B1)
        low += hash32(high, round_key) % divisor
        low -= divisor * (low >= divisor)
        x = low * np.uint32(rows)
        x += high
        rows, cols = cols, rows
    return x.astype(np.int64)


def uniform_days(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A day drawn uniformly from [low, high) for each pair; ``low`` where the range is empty."""
    low_days = low.astype("datetime64[D]").astype(np.int64)
    span = np.maximum(high.astype("datetime64[D]").astype(np.int64) - low_days, 1)
    days: np.ndarray = low_days + np.floor(rng.random(low_days.shape[0]) * span).astype(np.int64)
    return days.astype("datetime64[D]")


def uniform_seconds(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A second drawn uniformly from [low, high) for each pair of days."""
    low_s = low.astype("datetime64[D]").astype("datetime64[s]").astype(np.int64)
    high_s = high.astype("datetime64[D]").astype("datetime64[s]").astype(np.int64)
    span = np.maximum(high_s - low_s, 1)
    seconds: np.ndarray = low_s + np.floor(rng.random(low_s.shape[0]) * span).astype(np.int64)
    return seconds.astype("datetime64[s]")


def years_after(days: np.ndarray, years: int | np.ndarray) -> np.ndarray:
    """The same day and month ``years`` later (29 February becomes 28 February)."""
    year, month, day = date_parts(days)
    year = year + np.asarray(years, dtype=np.int32)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    day = np.where((month == 2) & (day == 29) & ~leap, 28, day)
    return from_parts(year, month, day)


def from_parts(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Dates from year, month and day (Hinnant's days_from_civil, vectorised)."""
    year = year - (month <= 2)
    era = np.floor_divide(year, 400)
    year_of_era = year - era * 400
    shifted_month = np.where(month > 2, month - 3, month + 9)
    day_of_year = (153 * shifted_month + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days: np.ndarray = (era * 146_097 + day_of_era - 719_468).astype(np.int64)
    return days.astype("datetime64[D]")


def date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day (1-31) of each date (Hinnant's civil_from_days, vectorised)."""
    z = days.astype("datetime64[D]").astype(np.int64).astype(np.int32) + np.int32(719_468)
    era = np.floor_divide(z, 146_097)
    day_of_era = z - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = np.where(shifted_month < 10, shifted_month + 3, shifted_month - 9)
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, day


def age_on(birth: np.ndarray, on: np.datetime64) -> np.ndarray:
    """Completed years of age on the given day."""
    by, bm, bd = date_parts(birth)
    oy, om, od = date_parts(np.array([on], dtype="datetime64[D]"))
    before_birthday = (bm > om[0]) | ((bm == om[0]) & (bd > od[0]))
    result: np.ndarray = oy[0] - by - before_birthday.astype(np.int64)
    return result
