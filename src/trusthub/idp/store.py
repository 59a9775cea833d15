"""The providers' reads and writes of sessions, held requests, codes, tokens and used assertions.

Secrets (codes, tokens, session and flow handles) are random with 256 bits; the database holds
only their SHA-256, as the hub's own provider does.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trusthub.identity.oidc.clients import digest
from trusthub.identity.oidc.provider import PENDING_TTL, SESSION_TTL
from trusthub.identity.oidc.sessions import new_secret
from trusthub.identity.oidc.store import AuthlibCode, as_utc
from trusthub.identity.oidc.vtr import Vector, parse_vector
from trusthub.idp.models import (
    IdpAccessToken,
    IdpAttempt,
    IdpCode,
    IdpPending,
    IdpSession,
    IdpUsedAssertion,
)
from trusthub.models_common import utcnow

RETAIN_USED = timedelta(days=1)


@dataclass(frozen=True)
class SignedIn:
    id: int
    account_id: int
    credential: int
    auth_time: datetime


_CURRENT = select(
    IdpSession.id, IdpSession.account_id, IdpSession.credential, IdpSession.auth_time
).where(
    IdpSession.idp == bindparam("b_idp"),
    IdpSession.token_hash == bindparam("hashed"),
    IdpSession.ended_at.is_(None),
    IdpSession.expires_at > bindparam("now"),
)
"""Statements built once, run on the session's connection: a sign-in reads and writes these
rows at every step, and building an ORM query each time cost more CPU than running it."""
_START = insert(IdpSession)
_END = (
    update(IdpSession)
    .where(IdpSession.idp == bindparam("b_idp"), IdpSession.token_hash == bindparam("hashed"))
    .values(ended_at=bindparam("at"))
)


def current_session(db: Session, idp: str, token: str | None) -> SignedIn | None:
    if not token or len(token) > 128:
        return None
    params = {"b_idp": idp, "hashed": digest(token), "now": utcnow()}
    row = db.connection().execute(_CURRENT, params).first()
    if row is None:
        return None
    return SignedIn(row.id, row.account_id, row.credential, as_utc(row.auth_time))


def start_session(db: Session, idp: str, account_id: int, credential: int) -> str:
    """A new session (never a reused one, against fixation); returns the cookie value."""
    token = new_secret()
    now = utcnow()
    db.connection().execute(
        _START,
        {
            "idp": idp,
            "token_hash": digest(token),
            "account_id": account_id,
            "credential": credential,
            "auth_time": now,
            "expires_at": now + timedelta(seconds=SESSION_TTL),
        },
    )
    return token


def end_session(db: Session, idp: str, token: str | None) -> None:
    if token and len(token) <= 128:
        db.connection().execute(_END, {"b_idp": idp, "hashed": digest(token), "at": utcnow()})


@dataclass(frozen=True)
class Waiting:
    id: int
    client_id: str
    query: str
    target: Vector
    created_at: datetime


_HOLD = insert(IdpPending)
_WAITING = select(
    IdpPending.id,
    IdpPending.binding_hash,
    IdpPending.client_id,
    IdpPending.query,
    IdpPending.target,
    IdpPending.created_at,
).where(
    IdpPending.idp == bindparam("b_idp"),
    IdpPending.handle_hash == bindparam("hashed"),
    IdpPending.completed_at.is_(None),
    IdpPending.expires_at > bindparam("now"),
)
_COMPLETE = (
    update(IdpPending)
    .where(IdpPending.id == bindparam("pending_id"), IdpPending.completed_at.is_(None))
    .values(completed_at=bindparam("at"))
    .returning(IdpPending.id)
)


def hold_request(
    db: Session, idp: str, client_id: str, query: str, target: Vector, binding: str
) -> str:
    handle = new_secret()
    now = utcnow()
    db.connection().execute(
        _HOLD,
        {
            "idp": idp,
            "handle_hash": digest(handle),
            "binding_hash": digest(binding),
            "client_id": client_id,
            "query": query,
            "target": target.text,
            "created_at": now,
            "expires_at": now + timedelta(seconds=PENDING_TTL),
        },
    )
    return handle


def waiting_request(db: Session, idp: str, handle: str, binding: str | None) -> Waiting | None:
    if not handle or len(handle) > 128 or not binding:
        return None
    params = {"b_idp": idp, "hashed": digest(handle), "now": utcnow()}
    row = db.connection().execute(_WAITING, params).first()
    if row is None or not hmac.compare_digest(row.binding_hash, digest(binding)):
        return None
    target = parse_vector(row.target)
    return Waiting(row.id, row.client_id, row.query, target, as_utc(row.created_at))


def complete_request(db: Session, waiting: Waiting) -> bool:
    done = db.connection().execute(_COMPLETE, {"pending_id": waiting.id, "at": utcnow()})
    return done.first() is not None


_REMEMBER = {
    dialect: insert(IdpUsedAssertion)
    .values(key=bindparam("key"), expires_at=bindparam("expires_at"))
    .on_conflict_do_nothing(index_elements=["key"])
    .returning(IdpUsedAssertion.key)
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def remember_assertion(
    db: Session, idp: str, client_id: str, jti: str, expires_at: datetime
) -> bool:
    """Record a client assertion's jti; False if seen before (a replay). One atomic statement."""
    key = digest(f"{idp}\x00{client_id}\x00{jti}")
    statement = _REMEMBER[db.get_bind().dialect.name]
    inserted = db.connection().execute(statement, {"key": key, "expires_at": expires_at})
    return inserted.first() is not None


@dataclass(frozen=True)
class IssuedCode(AuthlibCode):
    """An authorization code of a provider: its holder is the provider's account."""

    id: int
    client_id: str
    account_id: int
    redirect_uri: str
    scope: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    vot: str
    auth_time: datetime


_SPEND = (
    update(IdpCode)
    .where(
        IdpCode.idp == bindparam("b_idp"),
        IdpCode.code_hash == bindparam("hashed"),
        IdpCode.client_id == bindparam("b_client_id"),
        IdpCode.used_at.is_(None),
        IdpCode.expires_at > bindparam("now"),
    )
    .values(used_at=bindparam("now"))
    .returning(
        IdpCode.id,
        IdpCode.client_id,
        IdpCode.account_id,
        IdpCode.redirect_uri,
        IdpCode.scope,
        IdpCode.nonce,
        IdpCode.code_challenge,
        IdpCode.code_challenge_method,
        IdpCode.vot,
        IdpCode.auth_time,
    )
)
_NONCE = (
    select(IdpCode.id)
    .where(
        IdpCode.idp == bindparam("b_idp"),
        IdpCode.client_id == bindparam("b_client_id"),
        IdpCode.nonce == bindparam("b_nonce"),
    )
    .limit(1)
)


def consume_code(db: Session, idp: str, code: str, client_id: str) -> IssuedCode | None:
    """Spend a code once; a reuse revokes the tokens it gave (RFC 6749 §4.1.2)."""
    now = utcnow()
    code_hash = digest(code)
    params = {"b_idp": idp, "hashed": code_hash, "b_client_id": client_id, "now": now}
    row = db.connection().execute(_SPEND, params).first()
    if row is None:
        spent = db.scalar(
            select(IdpCode.id).where(IdpCode.code_hash == code_hash, IdpCode.used_at.is_not(None))
        )
        if spent is not None:
            db.execute(
                update(IdpAccessToken)
                .where(IdpAccessToken.code_id == spent, IdpAccessToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return None
    return IssuedCode(
        row.id,
        row.client_id,
        row.account_id,
        row.redirect_uri,
        row.scope,
        row.nonce,
        row.code_challenge,
        row.code_challenge_method,
        row.vot,
        as_utc(row.auth_time),
    )


def nonce_seen(db: Session, idp: str, client_id: str, nonce: str) -> bool:
    params = {"b_idp": idp, "b_client_id": client_id, "b_nonce": nonce}
    return db.connection().execute(_NONCE, params).first() is not None


@dataclass(frozen=True)
class LiveToken:
    client_id: str
    account_id: int
    scope: str
    vot: str


_LIVE = select(
    IdpAccessToken.client_id,
    IdpAccessToken.account_id,
    IdpAccessToken.scope,
    IdpAccessToken.vot,
).where(
    IdpAccessToken.idp == bindparam("b_idp"),
    IdpAccessToken.token_hash == bindparam("hashed"),
    IdpAccessToken.revoked_at.is_(None),
    IdpAccessToken.expires_at > bindparam("now"),
)
_FAILURES = select(IdpAttempt.at).where(
    IdpAttempt.key_hash == bindparam("hashed"), IdpAttempt.at > bindparam("since")
)
_FAILED = insert(IdpAttempt)


def live_token(db: Session, idp: str, token: str) -> LiveToken | None:
    params = {"b_idp": idp, "hashed": digest(token), "now": utcnow()}
    row = db.connection().execute(_LIVE, params).first()
    return None if row is None else LiveToken(*row)


def failures_since(db: Session, key_hash: str, since: datetime) -> list[datetime]:
    rows = db.connection().execute(_FAILURES, {"hashed": key_hash, "since": since}).scalars()
    return [as_utc(at) for at in rows]


def record_failure(db: Session, key_hash: str, at: datetime) -> None:
    db.connection().execute(_FAILED, {"key_hash": key_hash, "at": at})


def purge_expired(db: Session, now: datetime | None = None) -> None:
    now = now or utcnow()
    db.execute(delete(IdpUsedAssertion).where(IdpUsedAssertion.expires_at < now))
    db.execute(delete(IdpAccessToken).where(IdpAccessToken.expires_at < now - RETAIN_USED))
    db.execute(delete(IdpCode).where(IdpCode.expires_at < now - RETAIN_USED))
    db.execute(delete(IdpPending).where(IdpPending.expires_at < now))
    db.execute(delete(IdpSession).where(IdpSession.expires_at < now))
    db.execute(delete(IdpAttempt).where(IdpAttempt.at < now - RETAIN_USED))
