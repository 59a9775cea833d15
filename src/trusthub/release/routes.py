"""HTTP API of the release part: thin calls into ``release.service`` (operators only)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, status

from trusthub.deps import Admin, AppSettings, DbSession
from trusthub.ledger.routes import LedgerDep
from trusthub.release import service
from trusthub.release.schemas import BudgetSet, BudgetView, ReleaseRequest, ReleaseView

router = APIRouter(prefix="/api/v1/release", tags=["release"], dependencies=[Admin])


@router.post(
    "/runs",
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"description": "The privacy budget is exhausted; the refusal is on the ledger."},
        422: {"description": "Invalid specification, or an open release the gate refuses."},
        503: {"description": "The ledger could not record the release; nothing was released."},
    },
)
def run_release(
    data: ReleaseRequest, session: DbSession, settings: AppSettings, ledger: LedgerDep
) -> dict[str, Any]:
    """Run a release specification; the output goes to its own folder under the release dir.

    The release is on the ledger before its output exists; with agreement `open` and a passing
    risk report it is published to the open-data catalogue. Relative paths in the
    specification are read from the server's working directory.
    """
    spec = service.parse_spec(data.spec_yaml if data.spec_yaml is not None else data.spec or {})
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    settings.release_dir.mkdir(parents=True, exist_ok=True)
    key = settings.release_key.get_secret_value() if settings.release_key else None
    outcome = service.run_release(
        session,
        spec,
        base=Path.cwd(),
        out=settings.release_dir / f"{spec.name}-{stamp}",
        released_by=data.released_by,
        key=service.release_key(key),
        ledger=ledger,
        opendata_dir=settings.opendata_data_dir,
    )
    return {
        "release": outcome.record.model_dump(mode="json"),
        "report": outcome.report,
        "ledger": outcome.ledger,
        "published": outcome.published,
    }


@router.get("/runs")
def list_releases(session: DbSession) -> list[ReleaseView]:
    return service.list_releases(session)


@router.get("/runs/{release_id}")
def get_release(release_id: int, session: DbSession) -> ReleaseView:
    return service.get_release(session, release_id)


@router.put("/budgets")
def set_budget(data: BudgetSet, session: DbSession) -> BudgetView:
    """Create or change the ε (and δ) a recipient may spend on a dataset."""
    return service.set_budget(session, data)


@router.get("/budgets")
def list_budgets(session: DbSession) -> list[BudgetView]:
    return service.list_budgets(session)


@router.get("/budgets/{recipient}/{dataset:path}")
def get_budget(recipient: str, dataset: str, session: DbSession) -> BudgetView:
    """A budget with every spend charged to it."""
    return service.get_budget(session, dataset, recipient)
