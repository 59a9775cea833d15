"""Small helpers for generators and loaders: deterministic randomness and file lists in SQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from trusthub.opendata.storage import quote_literal

STREAMS = 65_599
SEEDS = 1_000_003


def draw(seed: int, stream: int, column: str = "i") -> str:
    """A deterministic 64-bit draw per row and stream, independent across streams.

    DuckDB's many-argument ``hash(a, b, c)`` combines the arguments' hashes, so two streams of
    one row share their low bits; hashing one integer made of (row, stream, seed) does not.
    """
    if not 0 <= stream < STREAMS:
        raise ValueError(f"stream must be in [0, {STREAMS})")
    return f"hash(({column} * {STREAMS} + {int(stream)}) * {SEEDS} + {int(seed) % SEEDS})"


def uniform(seed: int, stream: int, column: str = "i") -> str:
    """A deterministic uniform in [0, 1) per row: parallel and repeatable, unlike random()."""
    return f"(({draw(seed, stream, column)} % 1000000007) / 1000000007.0)"


def pick(seed: int, stream: int, values: Sequence[str], column: str = "i") -> str:
    """A deterministic choice from a fixed list of strings."""
    items = ", ".join(quote_literal(v) for v in values)
    return f"([{items}])[1 + ({draw(seed, stream, column)} % {len(values)})::INTEGER]"


def file_list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join(quote_literal(str(p)) for p in paths) + "]"


def copy_csv(select_sql: str, target: Path, *, header: bool, force_quote: bool) -> Path:
    """Write rows as CSV with DuckDB, the same way the publishers' exports look."""
    target.parent.mkdir(parents=True, exist_ok=True)
    options = [f"HEADER {'true' if header else 'false'}", "DELIMITER ','", "QUOTE '\"'"]
    if force_quote:
        options.append("FORCE_QUOTE *")
    with duckdb.connect(":memory:") as connection:
        connection.execute("SET preserve_insertion_order = true")
        connection.execute(
            f"COPY ({select_sql}) TO {quote_literal(str(target))} ({', '.join(options)})"
        )
    return target


def uniforms(seed: int) -> Callable[[int], str]:
    """``uniform`` bound to a seed, so generator SQL stays short: ``u(3)`` is stream 3."""

    def u(stream: int) -> str:
        return uniform(seed, stream)

    return u


def non_empty(expression: str) -> str:
    """A text field as published, trimmed, with empty strings read as missing."""
    return f"NULLIF(trim({expression}), '')"
