"""The errors real departmental copies carry, made on purpose and at stated rates.

The citizens table is the clean ground truth; each holder's copy is derived from it and then
damaged as real copies are. Rates are shares of a copy's records, except the two that depend on
a life event, which are shares of the people whose move or change of surname came after the
holder's record of them began (a record cannot miss what happened before it existed).

==========================  =====  ==========================================================
error                       rate   how
==========================  =====  ==========================================================
name_typo                   2.5%   one transposed, substituted (a QWERTY neighbour) or dropped
                                   letter in the given or family name (never the first letter)
short_given_name            2.0%   a common short form instead (Robert -> Bob), drawn from the
                                   records whose given name has one
missing_date_of_birth       1.5%   date of birth absent
missing_postcode            2.0%   postcode absent
missing_national_id         2.0%   NINO absent (DWP, HMRC); NHS number absent at the eye
                                   hospital at 1.0% (NATIONAL_ID_MISSING_RATES)
birth_day_month_swapped     0.5%   day and month of birth swapped (drawn from days 1-12)
stale_address               per    the copy still has the previous address
                            holder (STALE_ADDRESS_RATES: DVLA 65%, bank 55%, ...)
old_surname                 per    the copy predates the change and has the birth surname
                            holder (OLD_SURNAME_RATES: DVLA 40%, eye hospital 35%, ...)
==========================  =====  ==========================================================

Each copy is a snapshot as of its ``updated_at``: a stale address or an old surname always
means the record was last updated before that move or change, and never otherwise.

Some errors do not fit some holders (``NOT_APPLIED``): a driving licence always has its holder's
date of birth and postcode, and a pseudonymous research cohort has no names to misspell. A
record may carry more than one error, but a given name never has both a typo and a short form.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from trusthub.demo import strings, vocab
from trusthub.demo.randomness import date_parts

ERROR_RATES: Mapping[str, float] = {
    "name_typo": 0.025,
    "short_given_name": 0.02,
    "missing_date_of_birth": 0.015,
    "missing_postcode": 0.02,
    "missing_national_id": 0.02,
    "birth_day_month_swapped": 0.005,
}

STALE_ADDRESS_RATES: Mapping[str, float] = {
    "dwp.benefit-claims": 0.15,
    "hmrc.paye-employments": 0.35,
    "dvla.driver-licences": 0.65,
    "riverside-eye.eye-patients": 0.50,
    "pennine-vale.council-tax": 0.0,
    "thistle-crown-bank.current-accounts": 0.55,
}
"""Of the people who moved, the share whose copy at each holder still has the old address."""

OLD_SURNAME_RATES: Mapping[str, float] = {
    "dwp.benefit-claims": 0.10,
    "hmrc.paye-employments": 0.20,
    "dvla.driver-licences": 0.40,
    "riverside-eye.eye-patients": 0.35,
    "pennine-vale.council-tax": 0.15,
    "thistle-crown-bank.current-accounts": 0.30,
    "albion-skyways.passengers": 0.30,
}
"""Of the people whose surname changed, the share whose copy still has the birth surname."""

NOT_APPLIED: Mapping[str, frozenset[str]] = {
    "dvla.driver-licences": frozenset(
        {"missing_date_of_birth", "missing_postcode", "short_given_name"}
    ),
    "pennine-vale.council-tax": frozenset({"missing_postcode"}),
}

NATIONAL_ID_MISSING_RATES: Mapping[str, float] = {"nino": 0.02, "nhs_number": 0.01}

_NEIGHBOURS = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc",
    "g": "ftyhbv", "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop",
    "m": "njk", "n": "bhjm", "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz",
    "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}  # fmt: skip
_NEIGHBOUR_TABLE = np.zeros((256, 6), dtype=np.uint8)
_NEIGHBOUR_COUNT = np.ones(256, dtype=np.int64)
for _letter, _near in _NEIGHBOURS.items():
    _NEIGHBOUR_TABLE[ord(_letter), : len(_near)] = np.frombuffer(_near.encode(), dtype=np.uint8)
    _NEIGHBOUR_COUNT[ord(_letter)] = len(_near)
_SHORT_FORMS = strings.vocabulary(vocab.SHORT_FORMS)


def pick(rng: np.random.Generator, eligible: np.ndarray, rate: float, total: int) -> np.ndarray:
    """Exactly ``round(rate * total)`` distinct eligible rows (fewer if not enough), ascending."""
    candidates = np.flatnonzero(eligible)
    count = min(round(rate * total), candidates.shape[0])
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    return np.sort(rng.choice(candidates, size=count, replace=False))


def _random_position(rng: np.random.Generator, allowed: np.ndarray) -> np.ndarray:
    """A uniformly chosen allowed column in each row (0 where none is allowed)."""
    scores = rng.random(allowed.shape) * allowed
    result: np.ndarray = scores.argmax(axis=1)
    return result


def misspell(rng: np.random.Generator, names: pa.Array) -> pa.Array:
    """Each name with one typo: a transposition, a keyboard-neighbour substitution or a drop."""
    matrix, lengths = strings.to_matrix(names)
    count, width = int(matrix.shape[0]), int(matrix.shape[1])
    if count == 0 or width < 2:
        return names
    lower = (matrix >= ord("a")) & (matrix <= ord("z"))
    lower[:, 0] = False
    swappable = np.zeros_like(lower)
    swappable[:, :-1] = lower[:, :-1] & lower[:, 1:] & (matrix[:, :-1] != matrix[:, 1:])
    droppable = lower & (lengths[:, None] >= 3)
    kind: np.ndarray = rng.choice(3, size=count, p=[0.4, 0.35, 0.25])
    kind = np.where((kind == 0) & ~swappable.any(axis=1), 1, kind)
    kind = np.where((kind == 2) & ~droppable.any(axis=1), 1, kind)
    rows = np.arange(count)

    at = _random_position(rng, swappable)
    swap = rows[(kind == 0)]
    first = matrix[swap, at[swap]].copy()
    matrix[swap, at[swap]] = matrix[swap, at[swap] + 1]
    matrix[swap, at[swap] + 1] = first

    at = _random_position(rng, lower)
    change = rows[(kind == 1) & lower.any(axis=1)]
    letter = matrix[change, at[change]]
    choice = np.floor(rng.random(change.shape[0]) * _NEIGHBOUR_COUNT[letter]).astype(np.int64)
    matrix[change, at[change]] = _NEIGHBOUR_TABLE[letter, choice]

    at = _random_position(rng, droppable)
    columns = np.arange(width)
    shifted = np.hstack([matrix[:, 1:], np.zeros((count, 1), dtype=np.uint8)])
    after = (columns[None, :] >= at[:, None]) & (kind == 2)[:, None]
    matrix = np.where(after, shifted, matrix)
    lengths = lengths - (kind == 2)
    return strings.from_matrix(matrix, lengths)


def inject(
    rng: np.random.Generator,
    dataset: str,
    columns: dict[str, pa.Array],
    given_codes: np.ndarray | None,
) -> None:
    """Damage one copy in place, at the rates in ERROR_RATES, on the fields it has."""
    total = len(next(iter(columns.values())))
    skip = NOT_APPLIED.get(dataset, frozenset())
    given_field = "given_name" if "given_name" in columns else "first_names"

    typo_given = np.zeros(total, dtype=bool)
    if "family_name" in columns and "name_typo" not in skip:
        rows = pick(rng, np.ones(total, dtype=bool), ERROR_RATES["name_typo"], total)
        in_given = rng.random(rows.shape[0]) < 0.4
        for field, chosen in ((given_field, rows[in_given]), ("family_name", rows[~in_given])):
            columns[field] = strings.replace_rows(
                columns[field], chosen, misspell(rng, columns[field].take(chosen))
            )
        typo_given[rows[in_given]] = True

    if given_field == "given_name" and given_codes is not None and "short_given_name" not in skip:
        short = vocab.SHORT_FORM_OF[given_codes]
        rows = pick(rng, (short >= 0) & ~typo_given, ERROR_RATES["short_given_name"], total)
        columns["given_name"] = strings.replace_rows(
            columns["given_name"], rows, _SHORT_FORMS.take(short[rows])
        )

    for error, field in (
        ("missing_date_of_birth", "date_of_birth"),
        ("missing_postcode", "postcode"),
    ):
        if field in columns and error not in skip:
            valid = columns[field].is_valid().to_numpy(zero_copy_only=False)
            rows = pick(rng, valid, ERROR_RATES[error], total)
            columns[field] = strings.null_rows(columns[field], rows)
    for field, rate in NATIONAL_ID_MISSING_RATES.items():
        if field in columns and "missing_national_id" not in skip:
            rows = pick(rng, columns[field].is_valid().to_numpy(zero_copy_only=False), rate, total)
            columns[field] = strings.null_rows(columns[field], rows)

    if "date_of_birth" in columns and "birth_day_month_swapped" not in skip:
        columns["date_of_birth"] = _swap_day_and_month(rng, columns["date_of_birth"], total)


def _swap_day_and_month(rng: np.random.Generator, births: pa.Array, total: int) -> pa.Array:
    valid = births.is_valid().to_numpy(zero_copy_only=False)
    days = births.fill_null(0).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    year, month, day = date_parts(days)
    eligible = valid & (day <= 12) & (day != month)
    rows = pick(rng, eligible, ERROR_RATES["birth_day_month_swapped"], total)
    swapped = ((year[rows] - 1970) * 12 + day[rows] - 1).astype("datetime64[M]").astype(
        "datetime64[D]"
    ) + (month[rows] - 1).astype("timedelta64[D]")
    return strings.replace_rows(births, rows, pa.array(swapped, type=pa.date32()))
