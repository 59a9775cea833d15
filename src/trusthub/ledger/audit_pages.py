"""The auditor's page: how the log grew, who accessed what under which agreement, and refusals.

Figures come from public entries only (``views.audit_stats``); charts are the open-data pages'
server-drawn SVG, and every chart has its table, so nothing depends on seeing the picture.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from trusthub.deps import DbSession
from trusthub.ledger import views
from trusthub.ledger.citizen_view import organisation_names
from trusthub.ledger.routes import LedgerSession
from trusthub.ledger.stats import LedgerStats, Tally
from trusthub.opendata.charts import ChartData, Series, render_svg
from trusthub.web.rendering import render

router = APIRouter(include_in_schema=False)
TOP = 10
"""Charts show the busiest ten; the tables show every row."""


class Chart(BaseModel):
    data: ChartData
    svg: str


class AuditPage(BaseModel):
    stats: LedgerStats
    window: int
    charts: dict[str, Chart]


def _decisions(title: str, x_label: str, rows: list[Tally]) -> ChartData:
    top = rows[:TOP]
    return ChartData(
        title=title,
        kind="bar",
        x_label=x_label,
        y_label="Decisions",
        series=[
            Series(name="Permitted", points=[(t.label, float(t.permitted)) for t in top]),
            Series(name="Refused", points=[(t.label, float(t.refused)) for t in top]),
        ],
    )


def charts(stats: LedgerStats) -> dict[str, ChartData]:
    """The page's charts, kept as data so that the JSON twin carries their numbers."""
    found: dict[str, ChartData] = {}
    if stats.growth:
        found["growth"] = ChartData(
            title="Entries in the log, from its signed checkpoints",
            kind="line",
            x_label="Time (UTC)",
            y_label="Entries",
            series=[
                Series(
                    name="Log size",
                    points=[
                        (p.time.strftime("%Y-%m-%d %H:%M:%S"), float(p.tree_size))
                        for p in stats.growth
                    ],
                )
            ],
        )
    if stats.by_organisation:
        found["organisations"] = _decisions(
            "Decisions per organisation", "Organisation", stats.by_organisation
        )
    if stats.by_agreement:
        found["agreements"] = _decisions("Decisions per agreement", "Agreement", stats.by_agreement)
    if stats.refusals:
        found["refusals"] = ChartData(
            title="Refusals by reason",
            kind="bar",
            x_label="Reason",
            y_label="Refused entries",
            series=[
                Series(name="Refusals", points=[(r.reason, float(r.count)) for r in stats.refusals])
            ],
        )
    return found


def audit_page(session: DbSession, ledger_session: LedgerSession) -> AuditPage:
    stats = views.audit_stats(ledger_session, organisation_names(session))
    drawn = {k: Chart(data=c, svg=render_svg(c, f"chart-{k}")) for k, c in charts(stats).items()}
    return AuditPage(stats=stats, window=views.AUDIT_WINDOW, charts=drawn)


def _audit(request: Request, session: DbSession, ledger_session: LedgerSession) -> Response:
    """The public ledger at a glance, for auditors and anyone curious."""
    return render(request, "ledger/audit.html", lambda: audit_page(session, ledger_session))


router.add_api_route("/ledger.json", _audit, methods=["GET"], response_model=None)
router.add_api_route(
    "/ledger", _audit, methods=["GET"], response_model=None, response_class=HTMLResponse
)
