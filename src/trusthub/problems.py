"""Errors as RFC 9457 ``application/problem+json``: one shape for every failure the API reports."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://trusthub.example/problems/"


class Problem(Exception):
    """Raised by service code; problem+json at the HTTP edge, a plain message in the CLI."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        kind: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.errors = errors or []

    def to_json(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        return body


class NotFound(Problem):
    def __init__(self, what: str) -> None:
        super().__init__(404, "Not found", f"No {what} by that name.", kind="not-found")


class Conflict(Problem):
    def __init__(self, detail: str) -> None:
        super().__init__(409, "Conflict", detail, kind="conflict")


class InvalidInput(Problem):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        fields = ", ".join(str(e["field"]) for e in errors)
        super().__init__(
            422,
            "Invalid input",
            f"Check these fields: {fields}.",
            kind="invalid-input",
            errors=errors,
        )


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(
        problem.to_json(instance=request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
    )


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def _error(error: dict[str, Any]) -> dict[str, str]:
    """A field and message; a body that is not JSON names the body, not a character offset."""
    if error.get("type") == "json_invalid":
        return {"field": "body", "message": "the body is not valid JSON"}
    return {"field": _field_name(error["loc"]), "message": _message(error)}


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error through problem+json, including FastAPI's own validation errors."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_error(e) for e in exc.errors()]
        return problem_response(InvalidInput(errors), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = HTTPStatus(exc.status_code).phrase
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else ""
        return problem_response(Problem(exc.status_code, title, detail), request)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        # Logged by the request middleware with its request id; the body says nothing internal.
        return problem_response(
            Problem(500, "Internal Server Error", "Something went wrong; it has been logged."),
            request,
        )
