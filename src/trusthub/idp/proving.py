"""Pages that prove who a person is: register, set up codes, documents, questions, result.

Thin: each reads a form, calls ``proving_service`` in one transaction and renders the answer.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response

from trusthub.idp import proving_service as proving
from trusthub.idp.edges import flow_for, in_transaction
from trusthub.idp.flows import base_path
from trusthub.idp.web import NO_STORE, browser, page, problem_page, set_session
from trusthub.problems import InvalidInput, Problem

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=200)]


def _next(request: Request, slug: str, where: str, handle: str, token: str | None) -> Response:
    flow = flow_for(request, slug)
    response = RedirectResponse(f"{base_path(flow.provider)}/{where}/{handle}", 303)
    if token:
        set_session(response, slug, flow.provider, token)
    response.headers.update(NO_STORE)
    return response


@router.get("/register/{handle}")
async def register_form(request: Request, slug: str, handle: str) -> Response:
    flow = flow_for(request, slug)
    current = browser(request, slug, flow.provider)
    context: dict[str, Any] = {"csrf_token": current.binding, "errors": [], "form": {}}
    return page(request, slug, "idp/register.html", context)


@router.post("/register/{handle}")
async def register(
    request: Request,
    slug: str,
    handle: str,
    username: Field = "",
    password: Field = "",
    given_name: Field = "",
    family_name: Field = "",
    birthdate: Field = "",
    line1: Field = "",
    town: Field = "",
    postcode: Field = "",
    csrf_token: Field = "",
) -> Response:
    """Create an account; its security codes are set up next."""
    flow = flow_for(request, slug)
    current = browser(request, slug, flow.provider)
    form = {
        "username": username, "given_name": given_name, "family_name": family_name,
        "birthdate": birthdate, "line1": line1, "town": town, "postcode": postcode,
    }  # fmt: skip
    try:
        try:
            born = date.fromisoformat(birthdate)
        except ValueError:
            message = "Enter your date of birth as YYYY-MM-DD"
            raise InvalidInput([{"field": "birthdate", "message": message}]) from None
        missing = [
            k for k in ("given_name", "family_name", "line1", "town", "postcode") if not form[k]
        ]
        if missing:
            raise InvalidInput([{"field": k, "message": "Enter this"} for k in missing])
        data = proving.Registration(
            username, password, given_name, family_name, born, line1, town, postcode
        )
        token = await in_transaction(
            request, proving.register, slug, handle, current.binding, csrf_token, data,
            current.session,
        )  # fmt: skip
    except InvalidInput as invalid:
        context = {"csrf_token": current.binding, "errors": invalid.errors, "form": form}
        return page(request, slug, "idp/register.html", context, 422)
    except Problem as problem:
        return problem_page(request, slug, problem)
    return _next(request, slug, "security-codes", handle, token)


@router.get("/security-codes/{handle}")
async def totp_form(request: Request, slug: str, handle: str) -> Response:
    flow = flow_for(request, slug)
    current = browser(request, slug, flow.provider)
    try:
        setup = await in_transaction(request, proving.totp_setup, slug, current.session)
    except Problem as problem:
        return problem_page(request, slug, problem)
    context: dict[str, Any] = {"csrf_token": current.binding, "errors": [], "setup": setup}
    return page(request, slug, "idp/totp.html", context)


@router.post("/security-codes/{handle}")
async def totp_confirm(
    request: Request, slug: str, handle: str, totp: Field = "", csrf_token: Field = ""
) -> Response:
    flow = flow_for(request, slug)
    current = browser(request, slug, flow.provider)
    try:
        token = await in_transaction(
            request, proving.confirm_totp, slug, handle, current.binding, csrf_token,
            current.session, totp,
        )  # fmt: skip
    except InvalidInput as invalid:
        setup = await in_transaction(request, proving.totp_setup, slug, current.session)
        context = {"csrf_token": current.binding, "errors": invalid.errors, "setup": setup}
        return page(request, slug, "idp/totp.html", context, 422)
    except Problem as problem:
        return problem_page(request, slug, problem)
    return _next(request, slug, "prove", handle, token)


@router.get("/prove/{handle}")
async def documents_form(request: Request, slug: str, handle: str) -> Response:
    flow = flow_for(request, slug)
    current = browser(request, slug, flow.provider)
    context: dict[str, Any] = {"csrf_token": current.binding, "errors": [], "form": {}}
    return page(request, slug, "idp/prove.html", context)


@router.post("/prove/{handle}")
async def documents(
    request: Request,
    slug: str,
    handle: str,
    mrz_line1: Field = "",
    mrz_line2: Field = "",
    licence_number: Field = "",
    csrf_token: Field = "",
) -> Response:
    """Check the documents given; the questions come next."""
    flow = flow_for(request, slug)
    current = browser(request, slug, flow.provider)
    form = {"mrz_line1": mrz_line1, "mrz_line2": mrz_line2, "licence_number": licence_number}
    try:
        await in_transaction(
            request, proving.submit_documents, slug, handle, current.binding, csrf_token,
            current.session, request.app.state.settings, mrz_line1, mrz_line2, licence_number,
        )  # fmt: skip
    except InvalidInput as invalid:
        context = {"csrf_token": current.binding, "errors": invalid.errors, "form": form}
        return page(request, slug, "idp/prove.html", context, 422)
    except Problem as problem:
        return problem_page(request, slug, problem)
    return _next(request, slug, "questions", handle, None)


@router.get("/questions/{handle}")
async def questions_form(request: Request, slug: str, handle: str) -> Response:
    flow = flow_for(request, slug)
    current = browser(request, slug, flow.provider)
    try:
        asked = await in_transaction(request, proving.kbv_view, slug, current.session)
    except Problem as problem:
        return problem_page(request, slug, problem)
    context: dict[str, Any] = {"csrf_token": current.binding, "errors": [], "questions": asked}
    return page(request, slug, "idp/questions.html", context)


@router.post("/questions/{handle}")
async def answers(request: Request, slug: str, handle: str) -> Response:
    """Score the answers and the whole proof; show the result."""
    flow = flow_for(request, slug)
    current = browser(request, slug, flow.provider)
    posted = await request.form(max_fields=20)
    given = {k: str(v)[:200] for k, v in posted.items() if k.startswith("q") and len(k) < 4}
    try:
        outcome = await in_transaction(
            request, proving.answer_kbv, slug, handle, current.binding,
            str(posted.get("csrf_token", "")), current.session, given,
        )  # fmt: skip
    except Problem as problem:
        return problem_page(request, slug, problem)
    context = {
        "outcome": outcome,
        "continue_href": f"{base_path(flow.provider)}/oauth2/authorize/continue/{handle}",
    }
    return page(request, slug, "idp/result.html", context, status.HTTP_200_OK)
