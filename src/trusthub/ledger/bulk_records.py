"""A bulk entry's per-citizen records, a column at a time, across processes when there are many.

For each citizen: the commitment and lookup tag (``CommitmentKey.commit_many``), the record's
canonical bytes (a template per outcome with the commitment put in) and its leaf hash — in one
pass over a chunk of citizens. A large entry is cut into one chunk per core; each chunk comes
back sorted by commitment and the sorted runs are merged. The bytes are exactly those of one
citizen at a time: a property test compares the two. The commitment key goes to our own child
processes over their pipes only, as the writer process's signing key does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from dataclasses import dataclass
from hashlib import sha256
from itertools import chain
from multiprocessing import get_context

import structlog

from trusthub.ledger.commitments import CitizenId, CommitmentKey
from trusthub.ledger.merkle import LEAF_PREFIX

log = structlog.get_logger("trusthub.ledger")

PARALLEL_FROM = 200_000
"""Citizens from which a second process pays for its start (about a tenth of a second)."""

Template = tuple[bytes, bytes]
"""A record's canonical bytes before and after its commitment."""


@dataclass(frozen=True, slots=True)
class Records:
    """Parallel columns, in commitment order: what the entry's sub-tree and index are built from."""

    commitments: list[str]
    tags: list[bytes]
    inputs: list[bytes]
    hashes: list[bytes]


def _chunk(
    key: CommitmentKey,
    entry_id: str,
    citizen_ids: Sequence[CitizenId],
    shapes: Sequence[int],
    templates: Sequence[Template],
) -> Records:
    commitments, tags = key.commit_many(entry_id, citizen_ids)
    new_leaf = sha256(LEAF_PREFIX).copy
    inputs: list[bytes] = []
    hashes: list[bytes] = []
    for commitment, shape in zip(commitments, shapes, strict=True):
        head, tail = templates[shape]
        record = head + commitment.encode("ascii") + tail
        leaf = new_leaf()
        leaf.update(record)
        inputs.append(record)
        hashes.append(leaf.digest())
    return _sorted(Records(commitments, tags, inputs, hashes))


def _sorted(records: Records) -> Records:
    """By commitment; on runs that are each sorted already, Python's sort merges them."""
    order = sorted(range(len(records.commitments)), key=records.commitments.__getitem__)
    return Records(
        [records.commitments[i] for i in order],
        [records.tags[i] for i in order],
        [records.inputs[i] for i in order],
        [records.hashes[i] for i in order],
    )


def build(
    key: CommitmentKey,
    entry_id: str,
    citizen_ids: Sequence[CitizenId],
    shapes: Sequence[int],
    templates: Sequence[Template],
    workers: int | None = None,
) -> Records:
    """Every citizen's record, sorted by commitment; ``shapes[i]`` indexes ``templates``.

    ``workers`` defaults to one per core for a large entry, else this process alone."""
    count = len(citizen_ids)
    if workers is None:
        workers = (os.cpu_count() or 1) if count >= PARALLEL_FROM else 1
    workers = max(1, min(workers, count))
    if workers == 1:
        return _chunk(key, entry_id, citizen_ids, shapes, templates)
    try:
        runs = _across(key, entry_id, citizen_ids, shapes, templates, workers)
    except (BrokenExecutor, OSError) as error:
        # No processes to be had (limits, a main module that cannot be re-imported): do it here.
        log.warning("ledger.bulk_records_in_process", error=type(error).__name__)
        return _chunk(key, entry_id, citizen_ids, shapes, templates)
    return _sorted(
        Records(
            list(chain.from_iterable(run.commitments for run in runs)),
            list(chain.from_iterable(run.tags for run in runs)),
            list(chain.from_iterable(run.inputs for run in runs)),
            list(chain.from_iterable(run.hashes for run in runs)),
        )
    )


def _across(
    key: CommitmentKey,
    entry_id: str,
    citizen_ids: Sequence[CitizenId],
    shapes: Sequence[int],
    templates: Sequence[Template],
    workers: int,
) -> list[Records]:
    """One chunk here, the others in ``workers - 1`` processes: each run sorted."""
    count = len(citizen_ids)
    size = -(-count // workers)
    # spawn: never fork a process that runs threads (the ledger writer's, the server's).
    with ProcessPoolExecutor(workers - 1, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(
                _chunk,
                key,
                entry_id,
                citizen_ids[start : start + size],
                shapes[start : start + size],
                templates,
            )
            for start in range(size, count, size)
        ]
        runs = [_chunk(key, entry_id, citizen_ids[:size], shapes[:size], templates)]
        runs += [future.result() for future in futures]
    return runs
