"""Release test helpers: a running ledger on the test database, and independent proof checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from ledger_support import rfc_leaf, rfc_verify_inclusion
from trusthub.config import Settings
from trusthub.ledger import service as ledger_service
from trusthub.ledger.runtime import Ledger, open_ledger


@contextmanager
def running_ledger(settings: Settings, engine: Engine) -> Iterator[Ledger]:
    """The ledger as the app runs it, sharing the test database."""
    ledger = open_ledger(settings, engine)
    ledger.start()
    try:
        yield ledger
    finally:
        ledger.close()


def proven_entry(ledger: Ledger, index: int) -> dict[str, Any]:
    """The entry at ``index``, after checking its RFC 9162 inclusion proof independently."""
    with ledger.sessions() as session, session.begin():
        stored = ledger_service.get_entry(session, index)
        proof = ledger_service.inclusion_proof(session, index)
    assert proof.leaf_hash == rfc_leaf(stored.leaf_input)
    assert rfc_verify_inclusion(
        index, proof.tree_size, proof.leaf_hash, proof.path, proof.root_hash
    )
    body: dict[str, Any] = json.loads(stored.leaf_input)
    return body


def ledger_size(ledger: Ledger) -> int:
    with ledger.sessions() as session, session.begin():
        return ledger_service.tree_size(session)
