"""The FastAPI application factory: every part's routes behind one set of middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response

from trusthub import __version__
from trusthub.config import Settings, get_settings
from trusthub.consent.routes import router as consent_router
from trusthub.db import make_engine, make_session_factory
from trusthub.exchange.routes import router as exchange_router
from trusthub.identity.broker.routes import router as broker_router
from trusthub.identity.matching.routes import router as matching_router
from trusthub.identity.oidc.routes import router as oidc_router
from trusthub.identity.oidc.token_edge import TokenEndpoint
from trusthub.identity.routes import router as identity_router
from trusthub.idp.demo import register_hub_on_start
from trusthub.idp.routes import router as idp_router
from trusthub.ledger.audit_pages import router as ledger_audit_router
from trusthub.ledger.citizen_pages import router as citizen_pages_router
from trusthub.ledger.routes import router as ledger_router
from trusthub.ledger.runtime import open_ledger
from trusthub.observability import RequestContextMiddleware, configure_logging, metrics_response
from trusthub.opendata.api import router as ckan_router
from trusthub.opendata.pages import router as opendata_pages_router
from trusthub.opendata.routes import router as opendata_router
from trusthub.problems import install_problem_handlers
from trusthub.registry.routes import router as registry_router
from trusthub.release.routes import router as release_router
from trusthub.web import mount_web

API_DESCRIPTION = """
TrustHub answers three questions for every use of a person's data — **who is asking, may they,
and what exactly do they get** — and writes the answer to a ledger anyone can verify.

Errors are RFC 9457 `application/problem+json`. Operator endpoints need
`Authorization: Bearer $TRUSTHUB_ADMIN_TOKEN`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for one database; tests build one per backend."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    engine = make_engine(settings.database_url, echo=settings.sql_echo)
    ledger = open_ledger(settings, engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ledger.start()  # the ledger's group-commit writer: every recorder shares it
        register_hub_on_start(settings, engine)  # development: the demo identity providers
        try:
            yield
        finally:
            ledger.close()

    app = FastAPI(
        lifespan=lifespan,
        title="TrustHub",
        version=__version__,
        description=API_DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.ledger = ledger
    app.add_middleware(TokenEndpoint)  # inside the request id and metrics, before the router
    app.add_middleware(RequestContextMiddleware)
    install_problem_handlers(app)

    @app.get("/healthz", tags=["operations"], response_class=PlainTextResponse)
    def healthz() -> str:
        """Liveness and database reachability."""
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return "ok"

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def metrics() -> Response:
        return metrics_response()

    app.include_router(oidc_router)  # first: the token endpoint is the hottest path
    app.include_router(broker_router)
    app.include_router(idp_router)  # the demo identity providers, /idp/{slug}; routes are
    # matched in order, so the sign-in paths come before every other part's
    app.include_router(registry_router)
    app.include_router(identity_router)
    app.include_router(matching_router)
    app.include_router(consent_router)
    app.include_router(exchange_router)
    app.include_router(ledger_router)
    app.include_router(citizen_pages_router)
    app.include_router(ledger_audit_router)
    app.include_router(ckan_router)
    app.include_router(opendata_router)  # DCAT's .ttl/.jsonld before the pages' /{name}
    app.include_router(opendata_pages_router)
    app.include_router(release_router)
    mount_web(app)
    return app
