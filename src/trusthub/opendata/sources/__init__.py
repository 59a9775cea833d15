"""The three datasets the article names: a generator at real scale and a loader of the real files.

Each module offers ``generate(out_dir, rows, seed)`` (vectorised in DuckDB, deterministic for a
seed) and ``manifest`` plus ``sources(paths)`` to publish the real published files, tolerating
their known quirks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from trusthub.opendata.schemas import VersionCreate


@dataclass(frozen=True)
class Kind:
    """One publishable kind of file: how to make it and how to read it."""

    name: str
    summary: str
    default_rows: int
    generate: Callable[..., list[Path]]
    """(out_dir, rows, seed[, progress]) → the files written, as the publisher names them."""
    manifest: Callable[..., VersionCreate]
    """([organisation]) → the dataset's metadata and data dictionary."""
    select: Callable[[Sequence[Path]], dict[str, str]]
    """Resource name → trusted SELECT over the given files."""


def registry() -> dict[str, Kind]:
    """Every kind, imported lazily so that the CLI starts fast."""
    from trusthub.opendata.sources import companies, flood, price_paid

    return {k.name: k for k in (price_paid.KIND, *flood.KINDS, companies.KIND)}
