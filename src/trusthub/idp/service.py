"""The identity providers' one action layer: clients, accounts, sign-in and proving identity.

Routes, pages and the CLI call only these functions. Nothing here logs a name, a password, a
code or a token; failures are counted by rule, never by value.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trusthub.identity.oidc.clients import (
    CLIENT_SECRET_BASIC,
    PRIVATE_KEY_JWT,
    check_public_jwks,
    check_redirect_uri,
    digest,
)
from trusthub.identity.oidc.sessions import same_secret
from trusthub.idp import credentials, store
from trusthub.idp.claims import Address
from trusthub.idp.flows import held_vector
from trusthub.idp.models import IdpAccount, IdpClient
from trusthub.idp.providers import brand
from trusthub.idp.store import Waiting
from trusthub.models_common import utcnow
from trusthub.problems import InvalidInput, Problem
from trusthub.ratelimit import Window, check

PER_ACCOUNT = Window(5, 15 * 60)
"""Guessing one account's password: five failures per quarter hour (NIST SP 800-63B §5.2.2 asks
for at most 100 consecutive failures; this is far stricter)."""
PER_CLIENT = Window(20, 15 * 60)
"""Spraying many accounts from one address: twenty failures per quarter hour."""


@dataclass(frozen=True)
class ClientRegistration:
    client_id: str
    client_secret: str | None
    redirect_uris: list[str]
    token_endpoint_auth_method: str


def register_client(
    db: Session,
    idp: str,
    redirect_uris: list[str],
    *,
    client_id: str | None = None,
    name: str = "TrustHub",
    jwks: dict[str, Any] | None = None,
    jwks_uri: str | None = None,
    secret: bool = False,
) -> ClientRegistration:
    """Register (or update, by client id) a relying party of provider ``idp``.

    With ``jwks`` or ``jwks_uri`` it authenticates by ``private_key_jwt``; with ``secret`` by
    ``client_secret_basic``, and the secret is returned only now.
    """
    brand(idp)
    errors: list[dict[str, str]] = []
    for uri in redirect_uris:
        try:
            check_redirect_uri(uri)
        except ValueError as error:
            errors.append({"field": "redirect_uris", "message": str(error)})
    if not redirect_uris:
        errors.append({"field": "redirect_uris", "message": "give at least one redirect URI"})
    if jwks is not None:
        try:
            jwks = check_public_jwks(jwks)
        except ValueError as error:
            errors.append({"field": "jwks", "message": str(error)})
    if jwks_uri is not None:
        try:
            check_redirect_uri(jwks_uri)
        except ValueError as error:
            errors.append({"field": "jwks_uri", "message": str(error)})
    if secret == (jwks is not None or jwks_uri is not None):
        errors.append(
            {"field": "jwks", "message": "give keys (jwks or jwks_uri) or ask for a secret"}
        )
    if errors:
        raise InvalidInput(errors)
    client_id = client_id or f"rp-{secrets.token_urlsafe(12)}"
    plain = secrets.token_urlsafe(32) if secret else None
    row = db.scalar(select(IdpClient).where(IdpClient.idp == idp, IdpClient.client_id == client_id))
    if row is None:
        row = IdpClient(idp=idp, client_id=client_id)
        db.add(row)
    row.name = name
    row.redirect_uris = list(redirect_uris)
    row.token_endpoint_auth_method = CLIENT_SECRET_BASIC if secret else PRIVATE_KEY_JWT
    row.jwks = jwks
    row.jwks_uri = jwks_uri
    row.client_secret_hash = digest(plain) if plain else None
    db.flush()
    return ClientRegistration(client_id, plain, list(redirect_uris), row.token_endpoint_auth_method)


def create_account(
    db: Session,
    idp: str,
    username: str,
    password: str,
    *,
    given_name: str | None = None,
    family_name: str | None = None,
    birthdate: date | None = None,
    addresses: list[Address] | None = None,
    totp_secret: str | None = None,
) -> IdpAccount:
    """A new account with an Argon2id password; its identity is unproven (P0) until proven."""
    brand(idp)
    username = username.strip().lower()
    errors = []
    if not 3 <= len(username) <= 64 or not username.replace(".", "").replace("-", "").isalnum():
        errors.append({"field": "username", "message": "3 to 64 letters, digits, dots or dashes"})
    if len(password) < credentials.MIN_PASSWORD:
        errors.append(
            {"field": "password", "message": f"{credentials.MIN_PASSWORD} characters or more"}
        )
    taken = db.scalar(
        select(IdpAccount.id).where(IdpAccount.idp == idp, IdpAccount.username == username)
    )
    if taken is not None:
        errors.append({"field": "username", "message": "this username is taken"})
    if errors:
        raise InvalidInput(errors)
    account = IdpAccount(
        idp=idp,
        username=username,
        subject=secrets.token_urlsafe(24),
        password_hash=credentials.hash_password(password),
        totp_secret=totp_secret,
        given_name=given_name,
        family_name=family_name,
        birthdate=birthdate,
        addresses=[a.as_record() for a in addresses or ()],
        confidence=0,
    )
    db.add(account)
    db.flush()
    return account


def check_csrf(given: str | None, binding: str | None) -> None:
    if not same_secret(given, binding):
        raise Problem(403, "This form has expired", "Go back and start again.", kind="csrf")


def waiting(db: Session, idp: str, handle: str, binding: str | None) -> Waiting:
    found = store.waiting_request(db, idp, handle, binding)
    if found is None:
        raise Problem(
            400,
            "Your sign-in has expired",
            "Go back to the service and start again. A sign-in lasts 15 minutes and works only "
            "in the browser it was started in.",
            kind="sign-in-expired",
        )
    return found


def _rate_keys(idp: str, username: str, client_ip: str) -> tuple[str, str]:
    return digest(f"account\x00{idp}\x00{username}"), digest(f"ip\x00{idp}\x00{client_ip}")


class RateLimited(Problem):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "Too many attempts",
            f"Wait {retry_after} seconds, then try again.",
            kind="rate-limited",
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignInRefused:
    """Wrong credentials: returned, not raised, so the failure counted is committed."""

    message: str


@dataclass(frozen=True)
class SignInResult:
    """A new session and where the person goes next."""

    session_token: str
    account_id: int
    needs_proof: bool


def sign_in(
    db: Session,
    idp: str,
    handle: str,
    binding: str | None,
    csrf_token: str | None,
    username: str,
    password: str,
    totp_code: str,
    client_ip: str,
    previous_session: str | None = None,
) -> SignInResult | SignInRefused:
    """Check password (and TOTP when two factors are asked) within the rate limits."""
    check_csrf(csrf_token, binding)
    held_request = waiting(db, idp, handle, binding)
    username = username.strip().lower()[:64]
    now = utcnow()
    keys = _rate_keys(idp, username, client_ip)
    for key, window in zip(keys, (PER_ACCOUNT, PER_CLIENT), strict=True):
        failures = [t.timestamp() for t in store.failures_since(db, key, now - window.span)]
        verdict = check(failures, now.timestamp(), window)
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after)
    account = db.scalar(
        select(IdpAccount).where(IdpAccount.idp == idp, IdpAccount.username == username)
    )
    ok = credentials.check_password(account.password_hash if account else None, password)
    two_factors = held_request.target.credential >= 2
    if ok and account is not None and two_factors:
        step = credentials.totp_step(account.totp_secret, totp_code, now, account.totp_step)
        ok = step is not None
        account.totp_step = step if step is not None else account.totp_step
    if not ok or account is None:
        for key in keys:
            store.record_failure(db, key, now)
        message = "Enter the username, password and security code of your account"
        if not two_factors:
            message = "Enter the username and password of your account"
        return SignInRefused(message)
    if credentials.needs_rehash(account.password_hash):
        account.password_hash = credentials.hash_password(password)
    store.end_session(db, idp, previous_session)
    credential = 2 if two_factors else 1
    token = store.start_session(db, idp, account.id, credential)
    held = held_vector(credential, account.confidence)
    return SignInResult(token, account.id, held.confidence < held_request.target.confidence)
