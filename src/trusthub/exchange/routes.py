"""HTTP API of the exchange: recipients ask for records under an agreement, with a machine token."""

from __future__ import annotations

from fastapi import APIRouter, Request

from trusthub.deps import DbSession
from trusthub.exchange import service
from trusthub.exchange.keys import pseudonym_master_key
from trusthub.exchange.schemas import (
    BatchAnswer,
    BatchRequest,
    RecordAnswer,
    RecordRequest,
    Refusal,
)
from trusthub.exchange.terms import TermsCache
from trusthub.identity.deps import MachineClient
from trusthub.ledger.routes import LedgerDep

router = APIRouter(prefix="/exchange/v1", tags=["exchange"])


def _master_key(request: Request) -> bytes:
    """Loaded once per app: the pseudonym master key does not change while it runs."""
    state = request.app.state
    if getattr(state, "exchange_master_key", None) is None:
        state.exchange_master_key = pseudonym_master_key(state.settings)
    key: bytes = state.exchange_master_key
    return key


def _terms_cache(request: Request) -> TermsCache:
    """One per app: agreement terms by version stamp, checked against the database per request."""
    state = request.app.state
    if getattr(state, "exchange_terms", None) is None:
        state.exchange_terms = TermsCache()
    cache: TermsCache = state.exchange_terms
    return cache


@router.post(
    "/records",
    responses={
        403: {"model": Refusal, "description": "Refused; the refusal is on the ledger too."},
        503: {"description": "The ledger could not record the decision; nothing was released."},
    },
)
def request_record(
    body: RecordRequest,
    request: Request,
    caller: MachineClient,
    session: DbSession,
    ledger: LedgerDep,
) -> RecordAnswer:
    """One citizen's record under an agreement: only the agreed fields, only if the agreement is
    active and the citizen's choices allow it. Every decision is on the ledger before the answer."""
    return service.request_record(
        session, ledger, caller, body, _master_key(request), cache=_terms_cache(request)
    )


@router.post(
    "/records:batch",
    responses={
        422: {"description": "Invalid input, such as a bad identifier at a given position."},
        503: {"description": "The ledger could not record the decisions; nothing was released."},
    },
)
def request_batch(
    body: BatchRequest,
    request: Request,
    caller: MachineClient,
    session: DbSession,
    ledger: LedgerDep,
) -> BatchAnswer:
    """Up to 1,000 citizens' records under one agreement and purpose: each citizen decided on
    their own, every decision in one ledger entry written before the answer."""
    return service.request_batch(
        session, ledger, caller, body, _master_key(request), cache=_terms_cache(request)
    )
