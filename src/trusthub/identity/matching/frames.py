"""Identities and a department's records in one shape, normalised the same way, in DuckDB SQL.

Both sides get the same columns, so the model compares like with like: an identity brings its
former surname and previous postcode, a record has nulls there. Normalising in SQL keeps a
million rows off Python's heap.
"""

# ruff: noqa: S608 - SQL over fixed table and column names; file paths are quoted literals.

from __future__ import annotations

from collections.abc import Iterable

COLUMNS = (
    "unique_id",
    "given_name",
    "middle_name",
    "family_name",
    "former_family_name",
    "date_of_birth",
    "postcode",
    "previous_postcode",
    "nino",
    "driving_licence_number",
)
"""The matching shape; ``unique_id`` is the record's local id or the identity's reference."""

IDENTITY_COLUMNS = ("reference", *COLUMNS[1:])
"""What a file of verified identities may have (only ``reference`` and the names are needed)."""


def _name(expression: str) -> str:
    return f"nullif(lower(trim({expression})), '')"


def _first_word(expression: str) -> str:
    return f"nullif(split_part(lower(trim({expression})), ' ', 1), '')"


def _rest_words(expression: str) -> str:
    return f"nullif(trim(substr(lower(trim({expression})), strpos(trim({expression}), ' ') + 1)), lower(trim({expression})))"  # noqa: E501


def postcode_sql(expression: str) -> str:
    """'se246dw', 'SE24  6DW' -> 'SE24 6DW' (the inward code is always the last three)."""
    bare = f"upper(regexp_replace(cast({expression} as varchar), '\\s+', '', 'g'))"
    return (
        f"case when length({bare}) between 5 and 7 "
        f"then substr({bare}, 1, length({bare}) - 3) || ' ' || right({bare}, 3) end"
    )


def identifier_sql(expression: str) -> str:
    return f"nullif(upper(regexp_replace(cast({expression} as varchar), '\\s+', '', 'g')), '')"


def _or_null(present: Iterable[str], name: str, sql: str, kind: str = "varchar") -> str:
    return sql if name in present else f"cast(null as {kind})"


def _birth(present: Iterable[str]) -> str:
    return _or_null(present, "date_of_birth", "try_cast(date_of_birth as date)", "date")


def identities_select(source: str, present: Iterable[str]) -> str:
    """SQL selecting ``source`` (with the given columns) as identities in the matching shape."""
    have = set(present)
    return f"""
        select cast(reference as varchar) as unique_id,
            {_first_word("given_name")} as given_name,
            {_or_null(have, "middle_name", _name("middle_name"))} as middle_name,
            {_name("family_name")} as family_name,
            {_or_null(have, "former_family_name", _name("former_family_name"))}
                as former_family_name,
            {_birth(have)} as date_of_birth,
            {_or_null(have, "postcode", postcode_sql("postcode"))} as postcode,
            {_or_null(have, "previous_postcode", postcode_sql("previous_postcode"))}
                as previous_postcode,
            {_or_null(have, "nino", identifier_sql("nino"))} as nino,
            {_or_null(have, "driving_licence_number", identifier_sql("driving_licence_number"))}
                as driving_licence_number
        from {source}
    """


def records_select(source: str, present: Iterable[str]) -> str:
    """SQL selecting a department's copy (as the demo world writes it) in the matching shape.

    A licence's ``first_names`` holds given and middle names; a record has one postcode; the
    demo world's ground truth (``citizen_id``) is never read.
    """
    have = set(present)
    given = "first_names" if "first_names" in have else "given_name"
    middle = _rest_words("first_names") if given == "first_names" else "cast(null as varchar)"
    return f"""
        select cast(local_id as varchar) as unique_id,
            {_first_word(given)} as given_name,
            {middle} as middle_name,
            {_name("family_name")} as family_name,
            cast(null as varchar) as former_family_name,
            {_birth(have)} as date_of_birth,
            {_or_null(have, "postcode", postcode_sql("postcode"))} as postcode,
            cast(null as varchar) as previous_postcode,
            {_or_null(have, "nino", identifier_sql("nino"))} as nino,
            {_or_null(have, "driver_number", identifier_sql("driver_number"))}
                as driving_licence_number
        from {source}
    """
