"""Structured JSON logs with a request id, and Prometheus metrics, with no personal data in either.

Requests are logged and counted by their route template (``/api/v1/citizens/{ref}``), never by the
raw path, so identifiers in URLs do not reach logs or metric labels.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import sys
import time
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "trusthub_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "trusthub_http_request_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

log = structlog.get_logger("trusthub")

_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)
_log_requests = True
"""Whether a request's log line would be kept at the configured level (INFO or below)."""


def _new_request_id() -> str:
    """Unique per process and across processes (a random prefix), without a random draw each."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


class _CurrentStderr:
    """Resolve ``sys.stderr`` at each write, so redirections made after start-up are honoured."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Send structlog and the standard library's records through one JSON (or console) renderer."""
    global _log_requests  # one process-wide logging configuration
    _log_requests = logging.getLevelName(level.upper()) <= logging.INFO
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(processor=renderer, foreign_pre_chain=shared)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Uvicorn's access log prints raw paths, which may hold identifiers; ours logs templates.
    logging.getLogger("uvicorn.access").disabled = True
    # HTTP clients log full URLs, which may carry identifiers or tokens.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def route_template(scope: Scope) -> str:
    """The matched route's template, or the mount it fell under (e.g. /assets), never the path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    root = scope.get("root_path", "")
    return root if root else "unmatched"


class _RouteMetrics:
    """The metric children of one (method, route[, status]), looked up once, not per request."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], Any] = {}
        self.latencies: dict[tuple[str, str], Any] = {}

    def observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        count = self.counts.get((method, route, status))
        if count is None:
            count = self.counts[(method, route, status)] = REQUESTS.labels(
                method, route, str(status)
            )
        latency = self.latencies.get((method, route))
        if latency is None:
            latency = self.latencies[(method, route)] = LATENCY.labels(method, route)
        count.inc()
        latency.observe(elapsed)


_METRICS = _RouteMetrics()


def _incoming_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.match(text) else ""
    return ""


class RequestContextMiddleware:
    """Give each request an id (kept from ``X-Request-ID`` if well formed), log it, count it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or _new_request_id()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("request.failed", method=scope["method"], route=route_template(scope))
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            _METRICS.observe(scope["method"], route, status, elapsed)
            if _log_requests:
                log.info(
                    "request",
                    method=scope["method"],
                    route=route,
                    status=status,
                    ms=round(elapsed * 1000, 2),
                )
            structlog.contextvars.unbind_contextvars("request_id")


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
