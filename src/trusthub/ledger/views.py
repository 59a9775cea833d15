"""The ledger's reads for its two audiences: a citizen's own accesses, and auditors' figures.

Called by the citizen's and the auditor's pages, alongside ``service.py`` (whose proofs the
pages' browser code fetches from the public API). Auditors' figures come from public entries
only; a citizen's accesses only through the private index, keyed by their signed-in id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from trusthub.ledger import stats, store, tiles
from trusthub.ledger.commitments import CitizenId, CommitmentKey
from trusthub.ledger.entry import decode_entry
from trusthub.ledger.models import MAIN_TREE
from trusthub.ledger.service import CitizenEntry, entries_for_citizen, tree_size

AUDIT_WINDOW = 10_000
"""The auditor's page counts the latest entries up to this many, so it stays quick at any size."""
GROWTH_SAMPLES = 24


def citizen_accesses(
    session: Session, citizen_id: CitizenId, key: CommitmentKey
) -> list[CitizenEntry]:
    """The citizen's entries newest first, as their page and downloads list them."""
    found = entries_for_citizen(session, citizen_id, key)
    return sorted(found, key=lambda e: (e.index, e.position or 0), reverse=True)


def growth_samples(session: Session, samples: int = GROWTH_SAMPLES) -> list[tuple[datetime, int]]:
    """About ``samples`` signed checkpoints spread over the log's life, one seek each."""
    size = tree_size(session)
    if size == 0:
        return []
    connection = session.connection()
    points: dict[int, datetime] = {}
    wanted = sorted({max(1, -(-size * k // samples)) for k in range(1, samples + 1)})
    for target in wanted:
        for checkpoint in store.checkpoints_from(connection, target, 1):
            points[checkpoint.tree_size] = checkpoint.created_at
    return [(moment, tree) for tree, moment in sorted(points.items())]


def _leaf_range(session: Session, start: int, end: int) -> list[bytes]:
    """Leaf inputs ``start`` … ``end - 1``, decoding each bundle once."""
    if end <= start:
        return []
    first, last = tiles.bundle_key(start)[0], tiles.bundle_key(end - 1)[0]
    bundles = store.read_bundles(session.connection(), MAIN_TREE, range(first, last + 1))
    leaves: list[bytes] = []
    for bundle in range(first, last + 1):
        base = bundle * tiles.BUNDLE_SIZE
        for offset, leaf in enumerate(tiles.decode_bundle(bundles.get(bundle, b""))):
            if start <= base + offset < end:
                leaves.append(leaf)
    if len(leaves) != end - start:
        raise store.StorageError(f"entries {start} to {end - 1} are not all stored")
    return leaves


def audit_stats(
    session: Session, organisation_names: Mapping[str, str], window: int = AUDIT_WINDOW
) -> stats.LedgerStats:
    """The auditor's figures over the latest ``window`` entries, from public entries only."""
    size = tree_size(session)
    first = max(0, size - max(1, window))
    entries = [decode_entry(leaf) for leaf in _leaf_range(session, first, size)]
    return stats.summarise(entries, first, size, growth_samples(session), organisation_names)
