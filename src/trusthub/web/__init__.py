"""TrustHub's web pages: GOV.UK Frontend pages rendered on the server from the service layer."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from trusthub.web.errors import install_html_not_found
from trusthub.web.pages import router
from trusthub.web.rendering import STATIC_DIR

log = logging.getLogger(__name__)


def mount_web(app: FastAPI) -> None:
    """Add the pages and their static assets; called last by ``create_app``, after the API."""
    if not (STATIC_DIR / "govuk" / "govuk-frontend.min.css").is_file():
        log.warning("GOV.UK Frontend assets are missing: run scripts/build-assets.sh")
    app.include_router(router)
    app.mount("/assets", StaticFiles(directory=STATIC_DIR), name="assets")
    install_html_not_found(app)


__all__ = ["mount_web"]
