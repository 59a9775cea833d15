"""HTTP API of the exchange: recipients ask for records under an agreement, with a machine token."""

from __future__ import annotations

from fastapi import APIRouter, Request

from trusthub.deps import DbSession
from trusthub.exchange import service
from trusthub.exchange.keys import pseudonym_master_key
from trusthub.exchange.schemas import RecordAnswer, RecordRequest, Refusal
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
    return service.request_record(session, ledger, caller, body, _master_key(request))
