"""The protocol endpoints' actions for one provider: answer, send to sign-in, or refuse.

A person's session holds a credential level (password, or password and TOTP); their account
holds the GPG 45 confidence their identity was proven to. Together they make the vector held,
which the hub's pure Vectors of Trust rules compare with the ``vtr`` asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Error
from authlib.oidc.core.errors import LoginRequiredError
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.responses import Response

from trusthub.identity.oidc.flows import (
    AUTHORIZE_PATH,
    Browser,
    Refusal,
    ToSignIn,
    UnmetAuthenticationRequirements,
)
from trusthub.identity.oidc.provider import Provider
from trusthub.identity.oidc.server import HubRequest, replayed_request
from trusthub.identity.oidc.sessions import new_secret
from trusthub.identity.oidc.vtr import Satisfied, StepUp, Vector, decide, parse_vector
from trusthub.idp import store
from trusthub.idp.models import IdpAccount
from trusthub.idp.server import IdpServer, person
from trusthub.idp.store import SignedIn, Waiting
from trusthub.models_common import utcnow

REACH = parse_vector("Cl.Cm.P3")
"""The most these providers can assert: two factors and GPG 45 high confidence."""

AuthorizeOutcome = Response | Refusal | ToSignIn


def held_vector(credential: int, confidence: int) -> Vector:
    """What a sign-in holds; identity confidence counts only with two factors (as One Login)."""
    if credential >= 2:
        return parse_vector(f"Cl.Cm.P{confidence}")
    return parse_vector("Cl.P0")


def base_path(provider: Provider) -> str:
    return urlsplit(provider.issuer).path


@dataclass(frozen=True)
class Flow:
    """One provider's identity in a request: its slug and its Provider."""

    idp: str
    provider: Provider


def _fresh(signed_in: SignedIn, prompt: str, max_age: int | None, resumed: Waiting | None) -> bool:
    if resumed is not None and signed_in.auth_time >= resumed.created_at:
        return True
    if "login" in prompt.split():
        return False
    return max_age is None or signed_in.auth_time >= utcnow() - timedelta(seconds=max_age)


def authorize(
    db: Session, flow: Flow, request: HubRequest, browser: Browser, resumed: Waiting | None = None
) -> AuthorizeOutcome:
    """Answer an authorization request: a code, an error to the client, or a trip to sign in."""
    signed_in = store.current_session(db, flow.idp, browser.session)
    server = IdpServer(flow.provider, flow.idp, db)
    data = request.payload.data
    prompt = data.get("prompt") or ""
    raw_max_age = data.get("max_age") or ""
    max_age = int(raw_max_age) if raw_max_age.isdigit() else None
    fresh = signed_in if signed_in and _fresh(signed_in, prompt, max_age, resumed) else None
    try:
        grant = server.get_consent_grant(request, end_user=None)
    except OAuth2Error as error:
        if error.redirect_uri:
            answer: Response = server.handle_error_response(request, error)
            return answer
        return Refusal(400, error.error, error.description or "")

    def back(error: OAuth2Error) -> Response:
        error.redirect_uri, error.state = grant.redirect_uri, request.payload.state
        refused: Response = server.handle_error_response(request, error)
        return refused

    if raw_max_age and max_age is None:
        return back(InvalidRequestError("max_age must be a whole number of seconds."))
    held = None
    account = db.get(IdpAccount, fresh.account_id) if fresh else None
    if fresh is not None and account is not None:
        held = held_vector(fresh.credential, account.confidence)
    decision = decide(grant.vectors, held, REACH)
    if isinstance(decision, Satisfied) and fresh is not None and held is not None:
        user = person(db, fresh.account_id, held.text, fresh.auth_time)
        code: Response = server.create_authorization_response(request, grant_user=user, grant=grant)
        return code
    if "none" in prompt.split():
        return back(LoginRequiredError())
    if not isinstance(decision, StepUp) or resumed is not None:
        return back(UnmetAuthenticationRequirements("The vtr asked could not be met."))
    binding = browser.binding or new_secret()
    query = urlencode(request.replayable_query())
    handle = store.hold_request(
        db, flow.idp, grant.client.client_id, query, decision.target, binding
    )
    location = f"{base_path(flow.provider)}/sign-in/{handle}"
    return ToSignIn(location, None if binding == browser.binding else binding)


def resume(
    db: Session, flow: Flow, handle: str, browser: Browser, headers: Headers
) -> AuthorizeOutcome:
    """Carry on with a held request once the person has signed in (and proven who they are)."""
    waiting = store.waiting_request(db, flow.idp, handle, browser.binding)
    if waiting is None or not store.complete_request(db, waiting):
        return Refusal(
            400,
            "expired",
            "This sign-in has expired, was finished already, or was started in another browser.",
        )
    request = replayed_request(flow.provider, AUTHORIZE_PATH, waiting.query, headers)
    return authorize(db, flow, request, browser, resumed=waiting)


def token(db: Session, flow: Flow, request: HubRequest) -> Response:
    response: Response = IdpServer(flow.provider, flow.idp, db).create_token_response(request)
    return response


def userinfo(db: Session, flow: Flow, request: HubRequest) -> Response:
    server = IdpServer(flow.provider, flow.idp, db)
    response: Response = server.create_endpoint_response("userinfo", request)
    return response
