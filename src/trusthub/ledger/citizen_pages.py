"""The citizen's page: who has used my data, checkable in the browser, and my choices.

Everything is keyed off the hub session (``SignedInCitizen``), never an id in the URL or a form.
Forms carry the identity part's double-submit CSRF token (its binding cookie).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trusthub.consent import offers
from trusthub.consent import service as consent
from trusthub.consent.models import Channel, ChoiceAction, ChoiceKind
from trusthub.consent.schemas import ChoiceIn
from trusthub.db import transaction
from trusthub.deps import AppSettings, DbSession
from trusthub.identity import hub_signin
from trusthub.identity.deps import SignedInCitizen
from trusthub.identity.oidc.provider import PENDING_TTL, get_provider
from trusthub.identity.oidc.sessions import new_secret, same_secret
from trusthub.identity.oidc.web import PAGE_HEADERS, browser, set_binding
from trusthub.ledger import citizen_view
from trusthub.ledger.routes import LedgerDep, LedgerSession
from trusthub.problems import InvalidInput, Problem
from trusthub.registry import service as registry
from trusthub.web.rendering import error_page, render, templates, wants_json

router = APIRouter(include_in_schema=False)

STATE_COOKIE = "trusthub_citizen_state"
SIGN_IN = "/citizen/sign-in"


def _private(response: Response) -> Response:
    """Pages about one person: never cached, framed or named in a Referer."""
    response.headers.update(PAGE_HEADERS)
    return response


def _nobody(request: Request) -> Response:
    """No hub session: people are sent to sign in; machines get 401."""
    if wants_json(request) or request.url.path.endswith((".csv", ".json")):
        raise Problem(401, "Unauthorized", "Sign in at the hub to see this.", kind="sign-in")
    return _private(RedirectResponse(SIGN_IN, status.HTTP_303_SEE_OTHER))


def _citizen_page(
    request: Request,
    session: DbSession,
    ledger_session: LedgerSession,
    ledger: LedgerDep,
    settings: AppSettings,
    citizen_id: SignedInCitizen,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    saved: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Every access to the signed-in citizen's data, newest first, and their choices."""
    if citizen_id is None:
        return _nobody(request)
    provider = get_provider(settings)
    binding = browser(request, provider).binding
    fresh = None if binding else new_secret()

    def load() -> citizen_view.CitizenPage:
        view = citizen_view.citizen_page(
            session, ledger_session, ledger.keys.commitment, citizen_id, page, saved
        )
        view.csrf_token = binding or fresh or ""
        view.demo_sign_in = provider.demo_sign_in
        return view

    response = render(request, "ledger/citizen.html", load)
    set_binding(response, provider, fresh)
    return _private(response)


router.add_api_route("/citizen.json", _citizen_page, methods=["GET"], response_model=None)
router.add_api_route(
    "/citizen", _citizen_page, methods=["GET"], response_model=None, response_class=HTMLResponse
)


def _downloads(
    session: DbSession,
    ledger_session: LedgerSession,
    ledger: LedgerDep,
    citizen_id: int,
) -> list[citizen_view.Access]:
    rows = citizen_view.accesses(session, ledger_session, ledger.keys.commitment, citizen_id)
    return rows[: citizen_view.MAX_DOWNLOAD]


@router.get("/citizen/accesses.csv", response_model=None)
def accesses_csv(
    request: Request,
    session: DbSession,
    ledger_session: LedgerSession,
    ledger: LedgerDep,
    citizen_id: SignedInCitizen,
) -> Response:
    """The citizen's accesses as CSV, newest first."""
    if citizen_id is None:
        return _nobody(request)
    rows = _downloads(session, ledger_session, ledger, citizen_id)
    body = citizen_view.accesses_csv(rows)
    headers = {"Content-Disposition": 'attachment; filename="accesses.csv"'}
    return _private(Response(body, media_type="text/csv; charset=utf-8", headers=headers))


@router.get("/citizen/accesses.json", response_model=None)
def accesses_json(
    request: Request,
    session: DbSession,
    ledger_session: LedgerSession,
    ledger: LedgerDep,
    citizen_id: SignedInCitizen,
) -> Response:
    """The same as JSON: ``{"citizen", "accesses": [...]}``."""
    if citizen_id is None:
        return _nobody(request)
    rows = _downloads(session, ledger_session, ledger, citizen_id)
    body = citizen_view.Downloads(citizen=str(citizen_id), accesses=rows)
    headers = {"Content-Disposition": 'attachment; filename="accesses.json"'}
    return _private(
        Response(body.model_dump_json(), media_type="application/json", headers=headers)
    )


@router.get("/citizen/sign-in", response_model=None)
def sign_in_page(request: Request, settings: AppSettings, citizen_id: SignedInCitizen) -> Response:
    """Why and how to sign in; already signed in, straight to the page."""
    if citizen_id is not None:
        return _private(RedirectResponse("/citizen", status.HTTP_303_SEE_OTHER))
    provider = get_provider(settings)
    context = {"demo": provider.demo_sign_in, "json_href": None}
    return _private(templates.TemplateResponse(request, "ledger/sign_in.html", context))


@router.get("/citizen/sign-in/start", response_model=None)
def sign_in_start(session: DbSession, settings: AppSettings) -> Response:
    """Start the hub's own sign-in, as any service would; it comes back to ``signed-in``."""
    provider = get_provider(settings)
    state = new_secret()
    location = hub_signin.sign_in_location(session, provider, state)
    response = RedirectResponse(location, status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=PENDING_TTL,
        path="/citizen",
        secure=provider.secure_cookies,
        httponly=True,
        samesite="lax",
    )
    return _private(response)


@router.get("/citizen/signed-in", response_model=None)
def signed_in(
    request: Request,
    settings: AppSettings,
    state: Annotated[str, Query(max_length=128)] = "",
    error: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Back from the hub's sign-in: the state must be this browser's; the code is not needed."""
    provider = get_provider(settings)
    if not same_secret(state, request.cookies.get(STATE_COOKIE)):
        problem = Problem(
            400, "Your sign-in has expired", "Start again from your data page.", kind="sign-in"
        )
        return _private(error_page(request, problem))
    if error is not None:
        detail = "The hub could not sign you in at the level this page needs."
        return _private(error_page(request, Problem(403, "You are not signed in", detail)))
    response = RedirectResponse("/citizen", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(
        STATE_COOKIE, path="/citizen", secure=provider.secure_cookies, httponly=True
    )
    return _private(response)


def _choose(
    request: Request,
    settings: AppSettings,
    csrf_token: str,
    citizen_id: int | None,
) -> Response | int:
    """The signed-in citizen, if the form came from their own page; else the answer to give."""
    if citizen_id is None:
        return _nobody(request)
    binding = browser(request, get_provider(settings)).binding
    if not same_secret(csrf_token, binding):
        problem = Problem(403, "This form has expired", "Go back and try again.", kind="csrf")
        return _private(error_page(request, problem))
    return citizen_id


def _record(request: Request, citizen_id: int, choice: ChoiceIn) -> None:
    """Committed before the redirect answers, so the page the browser loads next shows it."""
    with transaction(request.app.state.sessions) as db:
        consent.record_choice(db, citizen_id, choice)


def _saved(kind: str) -> Response:
    return _private(RedirectResponse(f"/citizen?saved={kind}#choices", status.HTTP_303_SEE_OTHER))


CsrfField = Annotated[str, Form(max_length=128)]


@router.post("/citizen/choices/opt-out", response_model=None)
def set_opt_out(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    citizen_id: SignedInCitizen,
    opt_out: Annotated[str, Form(pattern="^(yes|no)$")],
    csrf_token: CsrfField = "",
) -> Response:
    """Set or withdraw the national data opt-out, recorded as made on the web."""
    who = _choose(request, settings, csrf_token, citizen_id)
    if isinstance(who, Response):
        return who
    action = ChoiceAction.SET if opt_out == "yes" else ChoiceAction.WITHDRAWN
    choice = ChoiceIn(kind=ChoiceKind.NATIONAL_DATA_OPT_OUT, action=action, channel=Channel.WEB)
    _record(request, who, choice)
    return _saved("opt-out")


def _agreement_choice(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    citizen_id: int | None,
    kind: ChoiceKind,
    agreement: str,
    action: str,
    csrf_token: str,
) -> Response:
    who = _choose(request, settings, csrf_token, citizen_id)
    if isinstance(who, Response):
        return who
    if not offers.may_choose(kind, agreement, registry.public_register(session)):
        taken = "objections" if kind is ChoiceKind.OBJECTION else "consent"
        message = f"this agreement does not take {taken}"
        return _private(
            error_page(request, InvalidInput([{"field": "agreement", "message": message}]))
        )
    choice = ChoiceIn(kind=kind, action=ChoiceAction(action), scope=agreement, channel=Channel.WEB)
    _record(request, who, choice)
    return _saved(kind.value)


AgreementField = Annotated[str, Form(min_length=1, max_length=32)]
ActionField = Annotated[str, Form(pattern="^(set|withdrawn)$")]


@router.post("/citizen/choices/objection", response_model=None)
def object_to(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    citizen_id: SignedInCitizen,
    agreement: AgreementField,
    action: ActionField,
    csrf_token: CsrfField = "",
) -> Response:
    """Object to an agreement whose basis allows it (Article 21), or withdraw the objection."""
    return _agreement_choice(
        request, session, settings, citizen_id, ChoiceKind.OBJECTION, agreement, action, csrf_token
    )


@router.post("/citizen/choices/consent", response_model=None)
def consent_to(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    citizen_id: SignedInCitizen,
    agreement: AgreementField,
    action: ActionField,
    csrf_token: CsrfField = "",
) -> Response:
    """Give or withdraw consent under an agreement whose basis is consent."""
    return _agreement_choice(
        request, session, settings, citizen_id, ChoiceKind.CONSENT, agreement, action, csrf_token
    )
