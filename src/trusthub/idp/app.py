"""One identity provider served on its own, as a separate organisation would run it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles

from trusthub.config import Settings
from trusthub.db import make_engine, make_session_factory
from trusthub.idp.providers import brand
from trusthub.idp.routes import router
from trusthub.observability import RequestContextMiddleware, configure_logging
from trusthub.problems import install_problem_handlers
from trusthub.web.rendering import ASSETS_URL, STATIC_DIR


def create_idp_app(settings: Settings, slug: str) -> FastAPI:
    """Only ``/idp/{slug}/...`` (and health, assets): the issuer is this origin + /idp/slug."""
    configure_logging(settings.log_level, json=settings.log_json)
    name = brand(slug).name
    engine = make_engine(settings.database_url, echo=settings.sql_echo)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(lifespan=lifespan, title=f"{name} (demo identity provider)", redoc_url=None)
    app.state.settings = settings.model_copy(update={"idp_enabled": True})
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.add_middleware(RequestContextMiddleware)
    install_problem_handlers(app)

    @app.get("/healthz", response_class=PlainTextResponse, include_in_schema=False)
    def healthz() -> str:
        return "ok"

    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=STATIC_DIR, check_dir=False), name="assets")
    return app
