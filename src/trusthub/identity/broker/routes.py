"""Pages of the broker and the citizen's account: thin edges over ``service`` and ``account``.

Talking to an identity provider happens in a worker thread outside any database transaction;
each database step runs in a transaction of its own (see ``service``).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypeVar

import httpx
from fastapi import APIRouter, Form, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response

from trusthub.identity.broker import account, consent, service
from trusthub.identity.broker.config import (
    BROKER_JWKS_PATH,
    CALLBACK_PATH,
    CORE_IDENTITY_JWKS_PATH,
    BrokerSetup,
    broker_setup,
    key_store,
)
from trusthub.identity.oidc import flows, sessions
from trusthub.identity.oidc.flows import Browser, Refusal, ToSignIn
from trusthub.identity.oidc.provider import Provider, get_provider
from trusthub.identity.oidc.web import (
    NO_STORE,
    authorize_answer,
    browser,
    clear_session,
    page,
    problem_page,
    refusal_page,
    set_binding,
    set_session,
)
from trusthub.identity.oidc.workers import in_transaction
from trusthub.problems import NotFound, Problem
from trusthub.ratelimit import Limiter, Window

router = APIRouter(include_in_schema=False)
T = TypeVar("T")

SIGN_IN_WINDOW = Window(limit=20, seconds=60)
"""Sign-in attempts one address may start a minute."""


def _hub(request: Request) -> Provider:
    return get_provider(request.app.state.settings)


def _setup(request: Request) -> BrokerSetup:
    return broker_setup(request.app.state.settings)


def _transport(request: Request) -> httpx.BaseTransport | None:
    """Tests may route the broker's HTTP to an identity provider app; None is the network."""
    return getattr(request.app.state, "identity_broker_transport", None)


def sign_in_limiter(request: Request) -> Limiter:
    """One limiter per app, shared by every way of signing in."""
    limiter: Limiter | None = getattr(request.app.state, "sign_in_limiter", None)
    if limiter is None:
        limiter = Limiter(SIGN_IN_WINDOW)
        request.app.state.sign_in_limiter = limiter
    return limiter


def check_rate(request: Request) -> None:
    """Refuse (429) a sign-in attempt over the address's limit."""
    host = request.client.host if request.client else "unknown"
    verdict = sign_in_limiter(request).hit(f"ip:{host}", time.monotonic())
    if not verdict.allowed:
        raise Problem(
            429,
            "Too many attempts to sign in",
            f"Wait {verdict.retry_after} seconds, then try again.",
            kind="rate-limited",
        )


TRIP_THREADS = 16
"""Threads for trips to identity providers, which wait on the network (a provider in this very
process answers from the protocol's own workers, so the two pools never wait on each other)."""

_trips = ThreadPoolExecutor(TRIP_THREADS, thread_name_prefix="trusthub-broker")


async def _tx(request: Request, action: Callable[..., T], *args: Any) -> T:
    return await in_transaction(request.app.state, action, *args)


async def _trip(action: Callable[..., T], *args: Any) -> T:
    """A step that talks to a provider, in a trip thread (a plain executor hop, as ``_tx``)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_trips, contextvars.copy_context().run, action, *args)


def _redirect(location: str) -> Response:
    response = RedirectResponse(location, status.HTTP_303_SEE_OTHER)
    response.headers.update(NO_STORE)
    return response


# --- choosing an identity provider ----------------------------------------------------------


async def _choose_page(request: Request, handle: str | None, binding: str | None) -> Response:
    hub, setup = _hub(request), _setup(request)
    if not setup.providers and not hub.demo_sign_in:
        raise NotFound("sign-in page")
    view = await _tx(request, service.choice, hub, setup, handle, binding)
    base = f"/identity/sign-in/{handle}" if handle else "/account/sign-in"
    context = {
        "view": view,
        "csrf_token": binding,
        "action": f"{base}/provider" if handle else base,
        "demo_action": base,
    }
    return page(request, "identity/choose.html", context)


@router.get("/identity/sign-in/{handle}")
async def choose(request: Request, handle: str) -> Response:
    """How do you want to prove who you are: the identity providers, and DEMO in development."""
    try:
        return await _choose_page(request, handle, browser(request, _hub(request)).binding)
    except Problem as problem:
        return problem_page(request, problem)


@router.get("/account/sign-in")
async def choose_for_account(request: Request) -> Response:
    """Sign in to see your account, through an identity provider."""
    hub = _hub(request)
    current = browser(request, hub)
    binding = current.binding or sessions.new_secret()
    try:
        answer = await _choose_page(request, None, binding)
    except Problem as problem:
        return problem_page(request, problem)
    set_binding(answer, hub, None if binding == current.binding else binding)
    return answer


async def _start(request: Request, handle: str | None, slug: str, csrf: str) -> Response:
    hub, setup = _hub(request), _setup(request)
    current = browser(request, hub)
    try:
        service.check_form(csrf, current.binding)
        assert current.binding is not None
        check_rate(request)
        trip = await _trip(
            service.start_trip,
            request.app.state.sessions,
            hub,
            setup,
            handle,
            slug,
            current.binding,
            _transport(request),
        )
    except Problem as problem:
        return problem_page(request, problem)
    return _redirect(trip.url)


@router.post("/identity/sign-in/{handle}/provider")
async def start(
    request: Request,
    handle: str,
    provider: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Send the citizen to the identity provider they chose, asking for what the service needs."""
    return await _start(request, handle, provider, csrf_token)


@router.post("/account/sign-in")
async def start_for_account(
    request: Request,
    provider: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    return await _start(request, None, provider, csrf_token)


@router.get(CALLBACK_PATH)
async def callback(request: Request) -> Response:
    """Back from the identity provider: verify everything, then start the hub session."""
    hub, setup = _hub(request), _setup(request)
    current = browser(request, hub)
    back = service.Callback(
        url=hub.url(CALLBACK_PATH) + "?" + request.url.query,
        state=request.query_params.get("state"),
        error="error" in request.query_params,
        binding=current.binding,
        session=current.session,
    )
    factory = request.app.state.sessions
    try:
        outcome = await _trip(service.finish_trip, factory, hub, setup, back, _transport(request))
    except Problem as problem:
        return problem_page(request, problem)
    if not isinstance(outcome, service.SignedIn):
        return _redirect(outcome.url)
    handle = service.held_request(outcome.next_path)
    if handle is None:
        response = _redirect(outcome.next_path)
    else:  # answer the service's request now, as /oauth2/authorize/continue would next
        signed_in = Browser(outcome.token, current.binding)
        answer = await _tx(request, flows.resume, hub, handle, signed_in, request.headers)
        response = authorize_answer(request, hub, answer)
    set_session(response, hub, outcome.token)
    return response


@router.get(BROKER_JWKS_PATH)
def broker_jwks(request: Request) -> JSONResponse:
    """The hub's public keys for its client assertions to identity providers."""
    store = key_store(_setup(request).client_keys, "broker client")
    return JSONResponse(store.keyring().public_jwks())


@router.get(CORE_IDENTITY_JWKS_PATH)
def core_identity_jwks(request: Request) -> JSONResponse:
    """The public key services check core identity JWTs with."""
    store = key_store(_hub(request).core_identity_keys, "core identity")
    return JSONResponse(store.keyring().public_jwks())


# --- consent for services outside government -------------------------------------------------


@router.get("/identity/consent/{handle}")
async def consent_page(request: Request, handle: str) -> Response:
    hub = _hub(request)
    current = browser(request, hub)
    try:
        view = await _tx(request, account.consent_view, handle, current.binding, current.session)
    except Problem as problem:
        return problem_page(request, problem)
    return page(request, "identity/consent.html", {"view": view, "csrf_token": current.binding})


def _resume_answer(request: Request, hub: Provider, outcome: Any) -> Response:
    if isinstance(outcome, Refusal):
        return refusal_page(request, outcome)
    if isinstance(outcome, ToSignIn):
        return _redirect(outcome.location)
    response: Response = outcome
    response.headers.update(NO_STORE)
    return response


@router.post("/identity/consent/{handle}")
async def consent_decision(
    request: Request,
    handle: str,
    decision: Annotated[str, Form(max_length=10)] = "",
    agree: Annotated[str, Form(max_length=10)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Share and carry on to the service, or refuse and tell the service so (access_denied)."""
    hub = _hub(request)
    current = browser(request, hub)
    try:
        service.check_form(csrf_token, current.binding)
        if decision == "allow":
            if agree != "yes":
                raise Problem(
                    422,
                    "Tick the box to agree",
                    "Go back, tick the box to agree to share these details, or choose not to.",
                    kind="consent-not-ticked",
                )
            await _tx(request, account.give_consent, handle, current.binding, current.session)
            return _redirect(f"{service.CONTINUE_PATH}{handle}")
        outcome = await _tx(request, flows.resume, hub, handle, current, request.headers, True)
    except Problem as problem:
        return problem_page(request, problem)
    return _resume_answer(request, hub, outcome)


# --- the citizen's account ------------------------------------------------------------------


async def _signed_in(request: Request, current: Browser) -> sessions.SignedIn | None:
    return await _tx(request, sessions.current_session, current.session)


@router.get("/account")
async def account_page(request: Request) -> Response:
    """Linked providers, services signed in to and what they got, consents, sign out."""
    hub = _hub(request)
    current = browser(request, hub)
    signed_in = await _signed_in(request, current)
    if signed_in is None or current.session is None:
        return page(request, "identity/account.html", {"view": None, "csrf_token": None})
    view = await _tx(
        request,
        account.view,
        request.app.state.ledger,
        _setup(request),
        signed_in.citizen_id,
        signed_in.held.text,
    )
    csrf = account.csrf_token(hub, current.session)
    return page(request, "identity/account.html", {"view": view, "csrf_token": csrf})


async def _posted_by_citizen(
    request: Request, hub: Provider, current: Browser, csrf_token: str
) -> sessions.SignedIn:
    """An account form's sender: its CSRF token checked, and still signed in (else 401)."""
    account.check_csrf(hub, current.session, csrf_token)
    signed_in = await _signed_in(request, current)
    if signed_in is None:
        raise Problem(401, "Sign in first", "Your session has ended.", kind="signed-out")
    return signed_in


@router.post("/account/consents/{consent_id}/withdraw")
async def withdraw_consent(
    request: Request, consent_id: int, csrf_token: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    hub = _hub(request)
    current = browser(request, hub)
    try:
        signed_in = await _posted_by_citizen(request, hub, current, csrf_token)
        if not await _tx(request, consent.withdraw, signed_in.citizen_id, consent_id):
            raise NotFound("consent")
    except Problem as problem:
        return problem_page(request, problem)
    return _redirect("/account")


@router.post("/account/sign-out-everywhere")
async def sign_out_everywhere(
    request: Request, csrf_token: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    hub = _hub(request)
    current = browser(request, hub)
    try:
        signed_in = await _posted_by_citizen(request, hub, current, csrf_token)
        await _tx(request, account.sign_out_everywhere, signed_in.citizen_id)
    except Problem as problem:
        return problem_page(request, problem)
    response = _redirect("/identity/signed-out")
    clear_session(response, hub)
    return response
