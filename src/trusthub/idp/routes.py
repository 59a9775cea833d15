"""HTTP edges of the identity providers, all under ``/idp/{slug}``: protocol, then pages.

As the hub's provider does, protocol endpoints read the request on the event loop and run
Authlib in a worker thread within one transaction, committed even when it refuses (a spent code
must stay spent).
"""

from __future__ import annotations

from typing import Annotated, Any

from authlib.oauth2.rfc6749.errors import InsecureTransportError
from fastapi import APIRouter, Form, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trusthub.identity.oidc.flows import Browser, Refusal, ToSignIn
from trusthub.identity.oidc.provider import Provider
from trusthub.identity.oidc.server import BadRequest, HubRequest, oauth_error, read_request
from trusthub.idp import flows, proving, service
from trusthub.idp.edges import flow_for, in_transaction
from trusthub.idp.flows import Flow, base_path
from trusthub.idp.metadata import discovery, provider_trustmark
from trusthub.idp.providers import brand
from trusthub.idp.web import (
    NO_STORE,
    browser,
    page,
    problem_page,
    refusal_page,
    set_binding,
    set_session,
)
from trusthub.problems import Problem

router = APIRouter(prefix="/idp/{slug}", tags=["identity providers (demo)"])


class _Origin:
    """Addresses a request by the provider's origin, not by the Host header."""

    def __init__(self, provider: Provider) -> None:
        self.origin = provider.issuer[: len(provider.issuer) - len(base_path(provider))]

    def url(self, path: str) -> str:
        return self.origin + path


async def _read(request: Request, flow: Flow) -> HubRequest | Response:
    try:
        return await read_request(request, _Origin(flow.provider))  # type: ignore[arg-type]
    except BadRequest as error:
        return oauth_error("invalid_request", str(error))
    except InsecureTransportError:
        return oauth_error("invalid_request", "the issuer must be https (or loopback http)")


def _answer(request: Request, flow: Flow, outcome: Response | Refusal | ToSignIn) -> Response:
    if isinstance(outcome, Refusal):
        return refusal_page(request, flow.idp, outcome)
    if isinstance(outcome, ToSignIn):
        response: Response = RedirectResponse(outcome.location, status.HTTP_303_SEE_OTHER)
        set_binding(response, flow.idp, flow.provider, outcome.binding)
    else:
        response = outcome
    response.headers.update(NO_STORE)
    return response


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request, slug: str) -> JSONResponse:
    """OpenID Provider metadata of one demo identity provider."""
    flow = flow_for(request, slug)
    return JSONResponse(discovery(flow.provider, brand(slug)))


@router.get("/oauth2/jwks")
def jwks(request: Request, slug: str) -> JSONResponse:
    """The provider's public ES256 keys."""
    keys = flow_for(request, slug).provider.keyring().public_jwks()
    return JSONResponse(keys, headers={"Cache-Control": "public, max-age=300"})


@router.get("/trustmark")
def trustmark(request: Request, slug: str) -> JSONResponse:
    """What the vectors in ``vot`` mean at this provider."""
    return JSONResponse(provider_trustmark(flow_for(request, slug).provider, brand(slug)))


@router.api_route("/oauth2/authorize", methods=["GET", "POST"], response_model=None)
async def authorize(request: Request, slug: str) -> Response:
    """Authorization endpoint: code flow, PKCE S256, state, nonce and ``vtr``."""
    flow = flow_for(request, slug)
    oauth_request = await _read(request, flow)
    if isinstance(oauth_request, Response):
        return oauth_request
    current = browser(request, slug, flow.provider)
    outcome = await in_transaction(request, flows.authorize, flow, oauth_request, current)
    return _answer(request, flow, outcome)


@router.get("/oauth2/authorize/continue/{handle}", include_in_schema=False)
async def authorize_continue(request: Request, slug: str, handle: str) -> Response:
    flow = flow_for(request, slug)
    current = browser(request, slug, flow.provider)
    outcome = await in_transaction(request, flows.resume, flow, handle, current, request.headers)
    return _answer(request, flow, outcome)


@router.post("/oauth2/token", response_model=None)
async def token(request: Request, slug: str) -> Response:
    """Token endpoint: authorization_code with private_key_jwt or client_secret_basic."""
    flow = flow_for(request, slug)
    oauth_request = await _read(request, flow)
    if isinstance(oauth_request, Response):
        return oauth_request
    response: Response = await in_transaction(request, flows.token, flow, oauth_request)
    return response


@router.api_route("/oauth2/userinfo", methods=["GET", "POST"], response_model=None)
async def userinfo(request: Request, slug: str) -> Response:
    """UserInfo: names, birth date, addresses and GPG 45 scores of a proven identity."""
    flow = flow_for(request, slug)
    oauth_request = await _read(request, flow)
    if isinstance(oauth_request, Response):
        return oauth_request
    response: Response = await in_transaction(request, flows.userinfo, flow, oauth_request)
    response.headers.update(NO_STORE)
    return response


def _sign_in_context(db: Session, flow: Flow, handle: str, binding: str | None) -> dict[str, Any]:
    held = service.waiting(db, flow.idp, handle, binding)
    return {
        "two_factors": held.target.credential >= 2,
        "register_href": f"{base_path(flow.provider)}/register/{handle}",
    }


@router.get("/sign-in/{handle}", include_in_schema=False)
async def sign_in_form(request: Request, slug: str, handle: str) -> Response:
    flow = flow_for(request, slug)
    current = browser(request, slug, flow.provider)
    try:
        context = await in_transaction(request, _sign_in_context, flow, handle, current.binding)
    except Problem as problem:
        return problem_page(request, slug, problem)
    context.update(csrf_token=current.binding, username="", errors=[])
    return page(request, slug, "idp/sign_in.html", context)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/sign-in/{handle}", include_in_schema=False)
async def sign_in(
    request: Request,
    slug: str,
    handle: str,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    totp: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Check the password (and the TOTP code if two factors are asked), then carry on."""
    flow = flow_for(request, slug)
    current = browser(request, slug, flow.provider)
    try:
        result = await in_transaction(
            request,
            service.sign_in,
            slug,
            handle,
            current.binding,
            csrf_token,
            username,
            password,
            totp,
            client_ip(request),
            current.session,
        )
    except service.RateLimited as limited:
        answer = problem_page(request, slug, limited)
        answer.headers["Retry-After"] = str(limited.retry_after)
        return answer
    except Problem as problem:
        return problem_page(request, slug, problem)
    if isinstance(result, service.SignInRefused):
        context = await in_transaction(request, _sign_in_context, flow, handle, current.binding)
        context.update(
            csrf_token=current.binding,
            username=username,
            errors=[{"field": "password", "message": result.message}],
        )
        return page(request, slug, "idp/sign_in.html", context, 401)
    if result.needs_proof:
        prove = f"{base_path(flow.provider)}/prove/{handle}"
        response: Response = RedirectResponse(prove, status.HTTP_303_SEE_OTHER)
        response.headers.update(NO_STORE)
    else:  # answer the held request now, as /oauth2/authorize/continue would next
        signed_in = Browser(result.session_token, current.binding)
        outcome = await in_transaction(
            request, flows.resume, flow, handle, signed_in, request.headers
        )
        response = _answer(request, flow, outcome)
    set_session(response, slug, flow.provider, result.session_token)
    return response


router.include_router(proving.router)
