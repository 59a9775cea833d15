"""HTTP edges of the OpenID Connect provider: protocol endpoints, sign-in pages, operator API.

Protocol endpoints read the request on the event loop, then run Authlib in a worker thread inside
one database transaction (client-credential grants with ``private_key_jwt`` stay on the loop and
await only their two statements: ``machine_grant``). Refusals are still committed: a spent code
or a used assertion ``jti`` must stay spent even when the request that spent it is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import structlog
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from fastapi import APIRouter, Form, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trusthub.deps import Admin, AppSettings, DbSession
from trusthub.identity.broker.routes import check_rate
from trusthub.identity.oidc import flows, machine_grant, registration, release, signin
from trusthub.identity.oidc.flows import Browser, ConfirmLogout, Refusal, SignedOut
from trusthub.identity.oidc.metadata import discovery_document, trustmark
from trusthub.identity.oidc.provider import Provider, get_provider
from trusthub.identity.oidc.schemas import (
    MachineClientCreate,
    MachineClientView,
    RelyingPartyCreate,
    RelyingPartyView,
)
from trusthub.identity.oidc.server import BadRequest, HubRequest, oauth_error, read_request
from trusthub.identity.oidc.sessions import same_secret
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
from trusthub.identity.oidc.workers import in_transaction, machine_worker, protocol_workers
from trusthub.ledger import service as ledger_service
from trusthub.problems import InvalidInput, Problem

log = structlog.get_logger("trusthub.identity")

router = APIRouter()
protocol = APIRouter(tags=["identity: OpenID Connect"])
pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["identity: clients"], dependencies=[Admin])

T = TypeVar("T")


def _provider(request: Request) -> Provider:
    return get_provider(request.app.state.settings)


async def _in_transaction(request: Request, action: Callable[..., T], *args: Any) -> T:
    """Run ``action(db, *args)`` in a worker thread, committed whole or not at all."""
    return await in_transaction(request.app.state, action, *args)


async def _read(request: Request, provider: Provider) -> HubRequest | Response:
    try:
        return await read_request(request, provider)
    except BadRequest as error:
        return oauth_error("invalid_request", str(error))
    except InsecureTransportError:
        return oauth_error("invalid_request", "the issuer must be https (or loopback http)")


@protocol.get("/.well-known/openid-configuration")
def openid_configuration(request: Request) -> JSONResponse:
    """OpenID Provider metadata (OIDC Discovery 1.0)."""
    return JSONResponse(discovery_document(_provider(request)))


@protocol.get("/oauth2/jwks")
def jwks(request: Request) -> JSONResponse:
    """Public signing keys: the active ones and the retired ones still within their overlap."""
    keys = _provider(request).keyring().public_jwks()
    return JSONResponse(keys, headers={"Cache-Control": "public, max-age=300"})


@protocol.get("/trustmark")
def trustmark_document(request: Request) -> JSONResponse:
    """What the vectors of trust in ``vot`` mean at this provider (the ``vtm`` target)."""
    return JSONResponse(trustmark(_provider(request)))


@protocol.api_route("/oauth2/authorize", methods=["GET", "POST"], response_model=None)
async def authorize(request: Request) -> Response:
    """Authorization endpoint: code flow with PKCE (S256), state, nonce and an optional ``vtr``."""
    provider = _provider(request)
    oauth_request = await _read(request, provider)
    if isinstance(oauth_request, Response):
        return oauth_request
    outcome = await _in_transaction(
        request, flows.authorize, provider, oauth_request, browser(request, provider)
    )
    return authorize_answer(request, provider, outcome)


@protocol.get("/oauth2/authorize/continue/{handle}", include_in_schema=False)
async def authorize_continue(request: Request, handle: str) -> Response:
    """Back from sign-in: the held request is answered now, once."""
    provider = _provider(request)
    outcome = await _in_transaction(
        request, flows.resume, provider, handle, browser(request, provider), request.headers
    )
    return authorize_answer(request, provider, outcome)


@protocol.post("/oauth2/token", response_model=None)
async def token(request: Request) -> Response:
    """Token endpoint: authorization_code and client_credentials; private_key_jwt or basic auth.

    Served by ``token_edge.TokenEndpoint`` ahead of the router; this route documents it (and
    answers it in an app built without that middleware).
    """
    provider = _provider(request)
    oauth_request = await _read(request, provider)
    if isinstance(oauth_request, Response):
        return oauth_request
    return await token_answer(request.app.state, provider, oauth_request)


async def token_answer(state: Any, provider: Provider, oauth_request: HubRequest) -> Response:
    """The token response, sent only once every release it makes is on the ledger."""
    machine = oauth_request.form.get("grant_type") == "client_credentials"
    if machine:
        answered = await machine_grant.answer(state, provider, oauth_request)
        if answered is not None:
            return answered
    response, releases = await in_transaction(
        state,
        flows.token_with_releases,
        provider,
        oauth_request,
        workers=machine_worker if machine else protocol_workers,
    )
    if releases:
        try:
            for released in releases:
                await ledger_service.record_async(state.ledger, released.decision())
        except Exception:
            log.error("identity.release_not_recorded", client_id=releases[0].client_id)
            await in_transaction(state, release.revoke, releases)
            return oauth_error(
                "temporarily_unavailable",
                "The release could not be recorded on the ledger; no tokens were issued.",
                status.HTTP_503_SERVICE_UNAVAILABLE,
            )
    return response


@protocol.api_route("/oauth2/userinfo", methods=["GET", "POST"], response_model=None)
async def userinfo(request: Request) -> Response:
    """UserInfo: the pairwise ``sub``, and profile claims only for a proven identity."""
    provider = _provider(request)
    oauth_request = await _read(request, provider)
    if isinstance(oauth_request, Response):
        return oauth_request
    response: Response = await _in_transaction(request, flows.userinfo, provider, oauth_request)
    response.headers.update(NO_STORE)
    return response


@protocol.api_route("/oauth2/logout", methods=["GET", "POST"], response_model=None)
async def logout(request: Request) -> Response:
    """RP-initiated logout; asks the citizen first unless an ID token hint names them."""
    provider = _provider(request)
    oauth_request = await _read(request, provider)
    if isinstance(oauth_request, Response):
        return oauth_request
    current = browser(request, provider)
    confirmed = request.method == "POST" and same_secret(
        oauth_request.form.get(flows.CSRF_FIELD), current.binding
    )
    outcome = await _in_transaction(
        request, flows.logout, provider, oauth_request, current, confirmed
    )
    if isinstance(outcome, Refusal):
        return refusal_page(request, outcome)
    if isinstance(outcome, ConfirmLogout):
        confirm = page(
            request,
            "identity/confirm_logout.html",
            {"fields": outcome.fields, "csrf_token": outcome.binding or current.binding},
        )
        set_binding(confirm, provider, outcome.binding)
        return confirm
    answer = (
        RedirectResponse("/identity/signed-out", status.HTTP_303_SEE_OTHER)
        if isinstance(outcome, SignedOut)
        else outcome
    )
    clear_session(answer, provider)
    answer.headers.update(NO_STORE)
    return answer


def _sign_in(
    db: Session, provider: Provider, handle: str, current: Browser, csrf: str, nhs: str
) -> str:
    return signin.demo_sign_in(db, provider, handle, current.binding, csrf, nhs, current.session)


@pages.post("/identity/sign-in/{handle}")
async def sign_in(
    request: Request,
    handle: str,
    nhs_number: Annotated[str, Form(max_length=40)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Sign in as a demo citizen, then carry on with the service's request."""
    provider = _provider(request)
    current = browser(request, provider)
    try:
        check_rate(request)
        token = await _in_transaction(
            request, _sign_in, provider, handle, current, csrf_token, nhs_number
        )
    except InvalidInput as invalid:
        view = await _in_transaction(
            request, signin.sign_in_view, provider, handle, current.binding
        )
        context = {
            "view": view,
            "csrf_token": current.binding,
            "error": invalid.errors[0]["message"],
            "nhs_number": nhs_number,
        }
        return page(
            request, "identity/sign_in.html", context, status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    except Problem as problem:
        return problem_page(request, problem)
    response = RedirectResponse(f"/oauth2/authorize/continue/{handle}", status.HTTP_303_SEE_OTHER)
    set_session(response, provider, token)
    response.headers.update(NO_STORE)
    return response


@pages.get("/identity/signed-out")
def signed_out(request: Request) -> Response:
    return page(request, "identity/signed_out.html", {})


@api.post("/organisations/{slug}/clients", status_code=status.HTTP_201_CREATED)
def add_machine_client(
    slug: str, data: MachineClientCreate, session: DbSession, settings: AppSettings
) -> MachineClientView:
    """Register an organisation's machine client (client credentials with private_key_jwt)."""
    client_id = registration.register_machine_client(
        session, slug, data.jwks, scopes=data.scopes, name=data.name
    )
    provider = get_provider(settings)
    client = registration.machine_client(session, client_id)
    return MachineClientView(
        client_id=client_id,
        organisation=slug,
        scopes=list(client.scopes),
        token_endpoint=provider.token_endpoint,
        audience=provider.machine_audience,
    )


@api.post("/identity/relying-parties", status_code=status.HTTP_201_CREATED)
def add_relying_party(data: RelyingPartyCreate, session: DbSession) -> RelyingPartyView:
    """Register a service citizens sign in to; a client secret is shown only in this answer."""
    return registration.register_relying_party(session, data)


router.include_router(protocol)
router.include_router(pages)
router.include_router(api)
