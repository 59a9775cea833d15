"""Cookies and pages of one provider: its own brand, GOV.UK Frontend, never cached or framed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import Response

from trusthub.identity.oidc.flows import Browser, Refusal
from trusthub.identity.oidc.provider import SESSION_TTL, Provider
from trusthub.identity.oidc.sessions import cookie_name
from trusthub.identity.oidc.web import NO_STORE, PAGE_HEADERS
from trusthub.idp.providers import brand
from trusthub.problems import Problem
from trusthub.web.rendering import templates as web_templates

TEMPLATES = Path(__file__).resolve().parent / "templates"

_environment = Environment(
    loader=ChoiceLoader([FileSystemLoader(TEMPLATES), web_templates.env.loader]),  # type: ignore[list-item]
    autoescape=True,
)
_environment.globals.update(web_templates.env.globals)
templates = Jinja2Templates(env=_environment)

__all__ = ["NO_STORE", "browser", "page", "problem_page"]


def _names(idp: str, secure: bool) -> tuple[str, str]:
    return cookie_name(f"idp_{idp}_session", secure), cookie_name(f"idp_{idp}_flow", secure)


def browser(request: Request, idp: str, provider: Provider) -> Browser:
    session, flow = _names(idp, provider.secure_cookies)
    return Browser(session=request.cookies.get(session), binding=request.cookies.get(flow))


def _set(
    response: Response, provider: Provider, name: str, value: str, max_age: int | None
) -> None:
    secure = provider.secure_cookies
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax"
    )


def set_binding(response: Response, idp: str, provider: Provider, binding: str | None) -> None:
    if binding:
        _set(response, provider, _names(idp, provider.secure_cookies)[1], binding, None)


def set_session(response: Response, idp: str, provider: Provider, token: str) -> None:
    _set(response, provider, _names(idp, provider.secure_cookies)[0], token, SESSION_TTL)


def page(
    request: Request, idp: str, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    response = templates.TemplateResponse(
        request, template, {"brand": brand(idp), **context}, status_code=status
    )
    response.headers.update(PAGE_HEADERS)
    return response


def problem_page(request: Request, idp: str, problem: Problem) -> Response:
    context = {"title": problem.title, "detail": problem.detail}
    return page(request, idp, "idp/problem.html", context, problem.status)


def refusal_page(request: Request, idp: str, refusal: Refusal) -> Response:
    detail = f"The service sent a request this provider cannot accept ({refusal.error})."
    if refusal.error == "expired":
        detail = refusal.description
    return problem_page(request, idp, Problem(refusal.status, "There is a problem", detail))
