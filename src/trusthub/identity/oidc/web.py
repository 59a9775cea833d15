"""Cookies and pages for the browser side of sign-in, rendered in the web part's layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from trusthub.identity.oidc.flows import Browser, Refusal, ToSignIn
from trusthub.identity.oidc.provider import SESSION_TTL, Provider
from trusthub.identity.oidc.refusals import refusal_detail
from trusthub.identity.oidc.sessions import BINDING_COOKIE, SESSION_COOKIE, cookie_name
from trusthub.problems import Problem
from trusthub.web.rendering import error_page
from trusthub.web.rendering import templates as web_templates

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PAGE_HEADERS = {
    **NO_STORE,
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
"""Sign-in pages are never cached, framed (clickjacking) or named in a Referer header."""

_environment = Environment(
    loader=ChoiceLoader([FileSystemLoader(TEMPLATES), web_templates.env.loader]),  # type: ignore[list-item]
    autoescape=True,
)
_environment.globals.update(web_templates.env.globals)
templates = Jinja2Templates(env=_environment)


def browser(request: Request, provider: Provider) -> Browser:
    secure = provider.secure_cookies
    return Browser(
        session=request.cookies.get(cookie_name(SESSION_COOKIE, secure)),
        binding=request.cookies.get(cookie_name(BINDING_COOKIE, secure)),
    )


def _set(
    response: Response, provider: Provider, base: str, value: str, max_age: int | None
) -> None:
    secure = provider.secure_cookies
    response.set_cookie(
        cookie_name(base, secure),
        value,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def set_binding(response: Response, provider: Provider, binding: str | None) -> None:
    """The flow binding lives as long as the browser session, like a CSRF cookie."""
    if binding:
        _set(response, provider, BINDING_COOKIE, binding, None)


def set_session(response: Response, provider: Provider, token: str) -> None:
    _set(response, provider, SESSION_COOKIE, token, SESSION_TTL)


def clear_session(response: Response, provider: Provider) -> None:
    secure = provider.secure_cookies
    response.delete_cookie(
        cookie_name(SESSION_COOKIE, secure), path="/", secure=secure, httponly=True, samesite="lax"
    )


def page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    response = templates.TemplateResponse(
        request, template, {"json_href": None, **context}, status_code=status
    )
    response.headers.update(PAGE_HEADERS)
    return response


def problem_page(request: Request, problem: Problem) -> Response:
    response = error_page(request, problem)
    response.headers.update(PAGE_HEADERS)
    return response


def refusal_page(request: Request, refusal: Refusal) -> Response:
    """A request we cannot send back to the service: say so, name the error, echo no input."""
    detail = refusal_detail(refusal.error, refusal.description)
    if refusal.error == "expired":
        detail = refusal.description
    return problem_page(
        request, Problem(refusal.status, "There is a problem with this sign-in", detail)
    )


def authorize_answer(
    request: Request, provider: Provider, outcome: Response | Refusal | ToSignIn
) -> Response:
    """The browser's answer to an authorization request: the service's redirect, a trip to sign
    in (or to consent), or a page saying why the request cannot go back to the service."""
    if isinstance(outcome, Refusal):
        return refusal_page(request, outcome)
    if isinstance(outcome, ToSignIn):
        response: Response = RedirectResponse(outcome.location, 303)
        set_binding(response, provider, outcome.binding)
    else:
        response = outcome
    response.headers.update(NO_STORE)
    return response
