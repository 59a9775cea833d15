"""The public ledger API: thin over ``ledger/service.py``; anyone may read, no one may write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from trusthub.ledger import service
from trusthub.ledger.runtime import Ledger
from trusthub.ledger.schemas import (
    CheckpointOut,
    CheckpointPage,
    ConsistencyProofOut,
    EntryOut,
    InclusionProofOut,
    KeysOut,
    RecordProofOut,
)

router = APIRouter(prefix="/ledger/v1", tags=["ledger"])


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def get_ledger_session(request: Request) -> Iterator[Session]:
    """A read transaction on the ledger's database (which may not be the app's)."""
    with get_ledger(request).sessions() as session, session.begin():
        yield session


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
LedgerSession = Annotated[Session, Depends(get_ledger_session)]
Index = Annotated[int, Query(ge=0, description="Entry index, from 0.")]
Size = Annotated[int | None, Query(ge=1, description="Tree size; default: the latest.")]


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(session: LedgerSession) -> str:
    """The latest signed checkpoint (C2SP tlog-checkpoint signed note)."""
    return service.latest_checkpoint(session).note


@router.get("/checkpoints")
def checkpoints(
    session: LedgerSession,
    from_size: Annotated[int, Query(alias="from", ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=service.MAX_CHECKPOINTS_PAGE)] = 100,
) -> CheckpointPage:
    """Every checkpoint the hub signed from tree size `from` on, oldest first."""
    found = service.checkpoints(session, from_size, limit + 1)
    page, more = found[:limit], found[limit:]
    return CheckpointPage(
        checkpoints=[CheckpointOut.of(c) for c in page],
        next_from=more[0].tree_size if more else None,
    )


@router.get("/entries/{index}")
def entry(session: LedgerSession, index: int) -> EntryOut:
    """One entry: the exact bytes hashed (base64) and the same decoded."""
    return EntryOut.of(service.get_entry(session, index))


@router.get("/proofs/inclusion")
def inclusion(session: LedgerSession, index: Index, tree_size: Size = None) -> InclusionProofOut:
    """RFC 9162 inclusion proof of entry `index` in the tree of `tree_size`."""
    return InclusionProofOut.of(service.inclusion_proof(session, index, tree_size))


@router.get("/proofs/consistency")
def consistency(
    session: LedgerSession,
    first: Annotated[int, Query(ge=1)],
    second: Size = None,
) -> ConsistencyProofOut:
    """RFC 9162 consistency proof between the trees of sizes `first` and `second`."""
    return ConsistencyProofOut.of(service.consistency_proof(session, first, second))


@router.get("/proofs/record")
def record(
    session: LedgerSession,
    index: Index,
    position: Annotated[int, Query(ge=0, description="The record's position in the entry.")],
    tree_size: Size = None,
) -> RecordProofOut:
    """One citizen's record in a bulk entry, proved into the entry and the entry into the log."""
    return RecordProofOut.of(service.record_proof(session, index, position, tree_size))


@router.get("/keys")
def keys(ledger: LedgerDep) -> KeysOut:
    """The keys whose signatures on checkpoints count, current first (pin them out of band)."""
    return KeysOut(origin=ledger.origin, keys=[v.vkey for v in ledger.keys.verifiers])
