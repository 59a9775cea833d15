"""Re-check a packed bulk entry from storage: its templates, every record, its tiles and root.

Each record is rebuilt from its template and commitment and rehashed; the records must be in
strictly increasing commitment order (one citizen once, in an order that reveals nothing); the
stored tiles (tile level 1 up) must equal those rebuilt byte for byte, and the root must be the
one the entry publishes. Returns what disagrees, in words; ``verify`` names the entry.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from trusthub.ledger import bulk_form, bulk_records, tiles
from trusthub.ledger.bulk_form import COMMITMENT_SIZE, FormError, Template
from trusthub.ledger.models import LedgerTile

ROWS_PER_READ = 256
"""Rows of records read at a time: 65,536 records, about 2 MB."""


def check(connection: Connection, index: int, count: int, root: str) -> list[str]:
    """What disagrees in packed bulk entry ``index``, which publishes ``count`` and ``root``."""
    tree = index + 1
    problems: list[str] = []
    stored_count, templates = _entry_row(connection, index)
    if stored_count != count:
        problems.append(f"its stored count {stored_count} is not the entry's {count}")
    try:
        bulk_form.check_templates(templates)
    except FormError as error:
        return [*problems, str(error)]
    roots, short, seen, trouble = _rehash(connection, tree, templates)
    if trouble:
        return [*problems, trouble]
    if seen != count:
        return [*problems, f"{seen} records, not {count}"]
    stored_tiles, rebuilt_root = bulk_records.subtree(count, roots, short)
    if rebuilt_root.hex() != root:
        problems.append("records do not match root")
    problems += _compare_tiles(connection, tree, stored_tiles)
    return problems


def is_packed(connection: Connection, index: int) -> bool:
    """Whether bulk entry ``index`` was stored packed (else its records are JSON lines)."""
    mark = _mark(connection)
    found = connection.exec_driver_sql(
        f"SELECT 1 FROM ledger_bulk_entries WHERE leaf_index = {mark}",  # noqa: S608
        (index,),
    ).first()
    return found is not None


def _entry_row(connection: Connection, index: int) -> tuple[int, list[Template]]:
    mark = _mark(connection)
    count, data = connection.exec_driver_sql(
        "SELECT count, templates FROM ledger_bulk_entries "  # noqa: S608 - a placeholder
        f"WHERE leaf_index = {mark}",
        (index,),
    ).one()
    return int(count), bulk_form.decode_templates(bytes(data))


def _mark(connection: Connection) -> str:
    return "%s" if connection.dialect.paramstyle in ("format", "pyformat") else "?"


def _rehash(
    connection: Connection, tree: int, templates: list[Template]
) -> tuple[list[bytes], list[bytes], int, str]:
    """Row roots, a last short row's leaf hashes, the records seen, and the first trouble."""
    roots: list[bytes] = []
    short: list[bytes] = []
    seen = 0
    previous = b""
    mark = _mark(connection)
    start = 0
    while True:
        chunk = connection.exec_driver_sql(
            "SELECT idx, data FROM ledger_bundles "  # noqa: S608 - placeholders only
            f"WHERE tree = {mark} AND idx >= {mark} AND idx < {mark} ORDER BY idx",
            (tree, start, start + ROWS_PER_READ),
        ).all()
        for idx, data in chunk:
            if short:
                return roots, short, seen, f"row {idx} follows a short row"
            if int(idx) != seen // bulk_records.ROW:
                return roots, short, seen, f"row {seen // bulk_records.ROW} is missing"
            try:
                numbers, commitments = bulk_form.unpack_row(bytes(data), len(templates))
            except FormError as error:
                return roots, short, seen, f"row {idx}: {error}"
            ordered = [
                commitments[i : i + COMMITMENT_SIZE]
                for i in range(0, len(commitments), COMMITMENT_SIZE)
            ]
            if any(a >= b for a, b in zip([previous, *ordered], ordered, strict=False)):
                return roots, short, seen, f"row {idx}: records are not in commitment order"
            previous = ordered[-1]
            hashes = bulk_form.leaf_hashes(templates, numbers, commitments)
            roots += bulk_form.bundle_roots(hashes)
            short = hashes if len(hashes) < bulk_records.ROW else []
            seen += len(hashes)
        if len(chunk) < ROWS_PER_READ:
            return roots, short, seen, ""
        start += ROWS_PER_READ


def _compare_tiles(
    connection: Connection, tree: int, built: dict[tiles.TileKey, tuple[int, bytes]]
) -> list[str]:
    """Stored tiles must be exactly the rebuilt ones: none missing, none changed, none extra."""
    stored = {
        (int(level), int(idx)): (int(width), bytes(data))
        for level, idx, width, data in connection.execute(
            select(LedgerTile.level, LedgerTile.idx, LedgerTile.width, LedgerTile.hashes).where(
                LedgerTile.tree == tree
            )
        )
    }
    problems = [f"tile {key} disagrees" for key in sorted(built) if stored.get(key) != built[key]]
    extra = sorted(set(stored) - set(built))
    problems += [f"stored tile {key} has no records under it" for key in extra]
    return problems
