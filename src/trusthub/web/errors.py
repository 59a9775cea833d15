"""People who follow a broken link get a "page not found" page; machines keep problem+json."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from trusthub.problems import Problem
from trusthub.web.rendering import error_page

# Machine-facing paths always answer problem+json, whatever the client accepts.
MACHINE_PREFIXES = ("/api/", "/assets/", "/docs", "/openapi", "/metrics", "/healthz")

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def is_page_navigation(request: Request) -> bool:
    """A browser asking for a page: a GET that accepts HTML, outside the API and the assets."""
    path = request.url.path
    return (
        request.method in ("GET", "HEAD")
        and "text/html" in request.headers.get("accept", "")
        and not path.startswith(MACHINE_PREFIXES)
        and not path.endswith(".json")
    )


def install_html_not_found(app: FastAPI) -> None:
    """Wrap the app's 404 handling so browsers see a page; the API's handler keeps the rest."""
    previous: Handler = app.exception_handlers.get(StarletteHTTPException, http_exception_handler)

    async def not_found(request: Request, exc: Exception) -> Response:
        if (
            isinstance(exc, StarletteHTTPException)
            and exc.status_code == 404
            and is_page_navigation(request)
        ):
            return error_page(request, Problem(404, "Not found", kind="not-found"))
        answer = previous(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, not_found)
