"""HTTP API of the exchange: recipients ask for records under an agreement, with a machine token."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from trusthub.deps import DbSession
from trusthub.exchange import bulk, service
from trusthub.exchange.access import require_scope
from trusthub.exchange.keys import pseudonym_master_key
from trusthub.exchange.schemas import (
    BatchAnswer,
    BatchRequest,
    RecordAnswer,
    RecordRequest,
    Refusal,
)
from trusthub.exchange.sources import DatabaseSource
from trusthub.exchange.terms import TermsCache
from trusthub.identity.deps import MachineClient, require_machine_client
from trusthub.identity.oidc.machine import MachineCaller
from trusthub.ledger.routes import LedgerDep
from trusthub.registry.agreement_rules import PurposeCategory

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


async def online_caller(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> MachineCaller:
    """The identity part's token check, run on the event loop: one signature check costs less
    than the hand-over to a worker thread that a plain (sync) dependency takes."""
    return require_machine_client(request.app.state.settings, authorization)


OnlineCaller = Annotated[MachineCaller, Depends(online_caller)]


@router.post(
    "/records",
    responses={
        403: {"model": Refusal, "description": "Refused; the refusal is on the ledger too."},
        503: {"description": "The ledger could not record the decision; nothing was released."},
    },
)
async def request_record(
    body: RecordRequest, request: Request, caller: OnlineCaller
) -> RecordAnswer:
    """One citizen's record under an agreement: only the agreed fields, only if the agreement is
    active and the citizen's choices allow it. Every decision is on the ledger before the answer."""
    state = request.app.state
    key, cache = _master_key(request), _terms_cache(request)

    # One worker thread for the whole request: the reads, the decision and the ledger wait.
    return await run_in_threadpool(
        service.request_record, state.sessions, state.ledger, caller, body, key, None, cache
    )


@router.post(
    "/records:batch",
    responses={
        422: {"description": "Invalid input, such as a bad identifier at a given position."},
        503: {"description": "The ledger could not record the decisions; nothing was released."},
    },
)
async def request_batch(body: BatchRequest, request: Request, caller: OnlineCaller) -> BatchAnswer:
    """Up to 1,000 citizens' records under one agreement and purpose: each citizen decided on
    their own, every decision in one ledger entry written before the answer."""
    state = request.app.state
    key, cache = _master_key(request), _terms_cache(request)

    return await run_in_threadpool(
        service.request_batch, state.sessions, state.ledger, caller, body, key, None, cache
    )


RECEIPT_HEADER = "TrustHub-Receipt"
LISTED_IN_HEADER = 100
PARQUET = "application/vnd.apache.parquet"


def _upload(file: UploadFile, directory: Path) -> Path:
    """The uploaded file, spooled to disk: bulk inputs are too big to hold in memory."""
    path = directory / "input"
    with path.open("wb") as handle:
        shutil.copyfileobj(file.file, handle, length=1 << 20)
    return path


def _answer(path: Path, media_type: str, receipt: dict[str, object], scratch: str) -> FileResponse:
    """The file, with the receipt (row numbers capped) in a header; scratch removed after."""
    for name in ("invalid_rows", "invalid_lines"):
        if name in receipt:
            receipt[name] = list(receipt[name])[:LISTED_IN_HEADER]  # type: ignore[call-overload]
    receipt.pop("output", None)
    return FileResponse(
        path,
        media_type=media_type,
        headers={RECEIPT_HEADER: json.dumps(receipt, separators=(",", ":"))},
        background=BackgroundTask(shutil.rmtree, scratch, ignore_errors=True),
    )


@router.post(
    "/extracts",
    response_class=FileResponse,
    responses={
        200: {
            "content": {PARQUET: {}},
            "description": f"The extract as Parquet; the receipt (JSON) in {RECEIPT_HEADER}.",
        },
        403: {"description": "The agreement does not allow this extract; nothing recorded."},
        422: {"description": "The input is refused: the problem lists rows or columns."},
        503: {"description": "The ledger could not record the extract; nothing was released."},
    },
)
def create_extract(
    request: Request,
    caller: MachineClient,
    session: DbSession,
    ledger: LedgerDep,
    agreement: Annotated[str, Form(max_length=32)],
    file: UploadFile,
    skip_invalid: Annotated[bool, Form()] = False,
) -> FileResponse:
    """A bulk extract for the calling recipient: upload the agreement's dataset (CSV with a
    header, or Parquet) and get back the rows the agreement and citizens' choices allow, with
    only the agreed fields, pseudonymised where agreed. The hub keeps no copy; every matched
    citizen's outcome is on the ledger (one bulk entry) before the answer."""
    require_scope(caller)
    scratch = tempfile.mkdtemp(prefix="trusthub-extract-")
    try:
        output = Path(scratch) / "extract.parquet"
        receipt = bulk.run_extract(
            session,
            ledger,
            _master_key(request),
            DatabaseSource(session),
            agreement=agreement,
            recipient=caller.organisation_slug,
            client=caller.client_id,
            input_path=_upload(file, Path(scratch)),
            output_path=output,
            skip_invalid=skip_invalid,
        )
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return _answer(output, PARQUET, asdict(receipt), scratch)


@router.post(
    "/optout-check",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": f"The usable NHS numbers, one per line; the report in {RECEIPT_HEADER}.",
        },
        422: {"description": "The file is refused (a line with more than one field)."},
    },
)
def optout_check(
    caller: MachineClient,
    session: DbSession,
    file: UploadFile,
    purpose: Annotated[PurposeCategory, Form()] = PurposeCategory.RESEARCH,
) -> FileResponse:
    """Check NHS numbers (one per line) against the national data opt-out for a purpose: the
    usable ones come back, invalid ones are reported by line number."""
    require_scope(caller)
    scratch = tempfile.mkdtemp(prefix="trusthub-optout-")
    try:
        output = Path(scratch) / "usable.csv"
        report = bulk.check_opt_outs(
            DatabaseSource(session),
            purpose=purpose,
            input_path=_upload(file, Path(scratch)),
            output_path=output,
        )
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return _answer(output, "text/csv", asdict(report), scratch)
