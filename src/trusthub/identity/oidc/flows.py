"""The protocol endpoints' actions: each builds a server for one request and lets Authlib answer.

The authorization endpoint decides, with the pure Vectors of Trust rules, whether the citizen's
session already meets what the service asks, must be stepped up through sign-in, or cannot be.
The DEMO sign-in sits where the identity broker will: at ``ToSignIn``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6749.errors import AccessDeniedError
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.responses import Response

from trusthub.identity.broker import consent
from trusthub.identity.oidc import sessions
from trusthub.identity.oidc.claims import pairwise_subject, released_claims
from trusthub.identity.oidc.grants import citizen_for
from trusthub.identity.oidc.provider import Provider
from trusthub.identity.oidc.release import Release
from trusthub.identity.oidc.server import HubRequest, HubServer, replayed_request
from trusthub.identity.oidc.sessions import SignedIn, Waiting
from trusthub.identity.oidc.vtr import Satisfied, StepUp, decide
from trusthub.models_common import utcnow

AUTHORIZE_PATH = "/oauth2/authorize"
SIGN_IN_PATH = "/identity/sign-in/"
CONSENT_PATH = "/identity/consent/"
CSRF_FIELD = "csrf_token"


class UnmetAuthenticationRequirements(OAuth2Error):  # type: ignore[misc]
    """No sign-in on offer can reach what the service asks (OpenID error code, 2023)."""

    error = "unmet_authentication_requirements"


@dataclass(frozen=True)
class Browser:
    """The cookies a browser brought: its hub session and its flow binding."""

    session: str | None
    binding: str | None


@dataclass(frozen=True)
class Refusal:
    """A request that cannot be answered to the service: the person is told instead."""

    status: int
    error: str
    description: str


@dataclass(frozen=True)
class ToSignIn:
    """Send the citizen to sign in; ``binding`` is set as a cookie when it is new."""

    location: str
    binding: str | None


@dataclass(frozen=True)
class ConfirmLogout:
    """Ask before signing out: the request did not prove it came from the citizen's service."""

    fields: list[tuple[str, str]]
    binding: str | None


@dataclass(frozen=True)
class SignedOut:
    """Signed out, with nowhere registered to send the citizen back to."""


AuthorizeOutcome = Response | Refusal | ToSignIn
LogoutOutcome = Response | Refusal | ConfirmLogout | SignedOut


def _max_age(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise ValueError("max_age")
    return int(raw)


def _fresh(signed_in: SignedIn, prompt: str, max_age: int | None, resumed: Waiting | None) -> bool:
    """Whether a sign-in counts for this request, given ``prompt=login`` and ``max_age``."""
    if resumed is not None and signed_in.auth_time >= resumed.created_at:
        return True  # signed in for this very request
    if "login" in prompt.split():
        return False
    return max_age is None or signed_in.auth_time >= utcnow() - timedelta(seconds=max_age)


def authorize(
    db: Session,
    provider: Provider,
    request: HubRequest,
    browser: Browser,
    resumed: Waiting | None = None,
    consent_denied: bool = False,
) -> AuthorizeOutcome:
    """Answer an authorization request: a code, an error to the service, or a trip to sign in.

    A service outside government gets a code only once the citizen has agreed to the claims it
    will receive; the request waits on the consent page meanwhile.
    """
    signed_in = sessions.current_session(db, browser.session)
    server = HubServer(provider, db, signed_in)
    data = request.payload.data
    prompt = data.get("prompt") or ""
    try:
        max_age, max_age_ok = _max_age(data.get("max_age")), True
    except ValueError:
        max_age, max_age_ok = 0, False
    candidate = signed_in if signed_in and _fresh(signed_in, prompt, max_age, resumed) else None
    try:
        grant = server.get_consent_grant(request, end_user=candidate)
    except OAuth2Error as error:
        if error.redirect_uri:
            answer: Response = server.handle_error_response(request, error)
            return answer
        return Refusal(400, error.error, error.description or "")

    def back(error: OAuth2Error) -> Response:
        error.redirect_uri, error.state = grant.redirect_uri, request.payload.state
        answer: Response = server.handle_error_response(request, error)
        return answer

    if not max_age_ok:
        return back(InvalidRequestError("max_age must be a whole number of seconds."))
    held = candidate.held if candidate else None
    decision = decide(grant.vectors, held, provider.sign_in_reach)
    if isinstance(decision, Satisfied) and candidate is not None:
        if consent_denied:
            return back(AccessDeniedError("The citizen did not agree to share these details."))
        scopes = (grant.client.get_allowed_scope(request.payload.scope) or "").split()
        claims = released_claims(scopes, decision.vot.confidence, grant.client.allowed_claims)
        if consent.needed(db, grant.client, candidate.citizen_id, claims):
            if "none" in prompt.split():
                return back(ConsentRequiredError())
            binding = browser.binding or sessions.new_secret()
            query = urlencode(request.replayable_query())
            handle = sessions.hold_request(
                db, grant.client.client_id, query, decision.vot, binding, candidate.auth_time
            )
            return ToSignIn(CONSENT_PATH + handle, None if binding == browser.binding else binding)
        user = citizen_for(
            provider, grant.client, candidate.citizen_id, decision.vot.text, candidate.auth_time
        )
        code: Response = server.create_authorization_response(request, grant_user=user, grant=grant)
        return code
    if "none" in prompt.split():
        return back(LoginRequiredError())
    if not isinstance(decision, StepUp):
        return back(UnmetAuthenticationRequirements("No sign-in on offer meets the vtr asked."))
    binding = browser.binding or sessions.new_secret()
    query = urlencode(request.replayable_query())
    handle = sessions.hold_request(db, grant.client.client_id, query, decision.target, binding)
    return ToSignIn(SIGN_IN_PATH + handle, None if binding == browser.binding else binding)


def resume(
    db: Session,
    provider: Provider,
    handle: str,
    browser: Browser,
    headers: Headers,
    consent_denied: bool = False,
) -> AuthorizeOutcome:
    """Carry on with a held request once the citizen has signed in (once per request)."""
    waiting = sessions.waiting_request(db, handle, browser.binding)
    if waiting is None or not sessions.complete_request(db, waiting):
        return Refusal(
            400,
            "expired",
            "This sign-in has expired, was finished already, or was started in another browser.",
        )
    request = replayed_request(provider, AUTHORIZE_PATH, waiting.query, headers)
    return authorize(db, provider, request, browser, resumed=waiting, consent_denied=consent_denied)


def token(db: Session, provider: Provider, request: HubRequest) -> Response:
    response: Response = HubServer(provider, db).create_token_response(request)
    return response


def token_with_releases(
    db: Session, provider: Provider, request: HubRequest
) -> tuple[Response, list[Release]]:
    """The token response, and the claims it releases, which must reach the ledger before it."""
    server = HubServer(provider, db)
    response: Response = server.create_token_response(request)
    return response, server.releases


def userinfo(db: Session, provider: Provider, request: HubRequest) -> Response:
    response: Response = HubServer(provider, db).create_endpoint_response("userinfo", request)
    return response


def _hint_matches(provider: Provider, end_request: object, signed_in: SignedIn | None) -> bool:
    claims = getattr(end_request, "id_token_claims", None)
    client = getattr(end_request, "client", None)
    if claims is None or client is None:
        return False
    if signed_in is None:
        return True  # nobody is signed in here, so there is nothing to confirm
    sub = pairwise_subject(provider.pairwise_key, client.sector_identifier, signed_in.citizen_id)
    return bool(claims.get("sub") == sub)


def logout(
    db: Session, provider: Provider, request: HubRequest, browser: Browser, confirmed: bool
) -> LogoutOutcome:
    """RP-initiated logout: end the hub session, then go back only to a registered URI."""
    signed_in = sessions.current_session(db, browser.session)
    server = HubServer(provider, db, signed_in)
    try:
        end_request = server.validate_endpoint_request("end_session", request)
    except OAuth2Error as error:
        return Refusal(400, error.error, error.description or "")
    if not confirmed and not _hint_matches(provider, end_request, signed_in):
        fields = [(k, v) for k, v in request.replayable_query() if k != CSRF_FIELD]
        binding = browser.binding or sessions.new_secret()
        return ConfirmLogout(fields, None if binding == browser.binding else binding)
    response: Response | None = server.create_endpoint_response("end_session", end_request)
    return response if response is not None else SignedOut()
