"""Citizens signed in at the hub, and services' requests waiting for them to sign in.

Browsers hold only random values in cookies; the database holds their SHA-256. A waiting request
is tied to the browser that started it by a binding cookie, which the sign-in form also carries:
a request cannot be finished in another browser, and a form cannot be posted from another site.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from trusthub.identity.oidc.clients import digest
from trusthub.identity.oidc.models import CitizenSession, PendingAuthorization
from trusthub.identity.oidc.provider import PENDING_TTL, SESSION_TTL
from trusthub.identity.oidc.store import as_utc
from trusthub.identity.oidc.vtr import Vector, parse_vector
from trusthub.models_common import utcnow

SESSION_COOKIE = "trusthub_session"
BINDING_COOKIE = "trusthub_flow"


def cookie_name(base: str, secure: bool) -> str:
    """``__Host-`` names (Secure, whole host, no Domain) whenever the issuer is https."""
    return f"__Host-{base}" if secure else base


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def same_secret(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class SignedIn:
    """A live sign-in: who, what it achieved, and when."""

    id: int
    citizen_id: int
    held: Vector
    auth_time: datetime


_CURRENT = select(
    CitizenSession.id, CitizenSession.citizen_id, CitizenSession.held, CitizenSession.auth_time
).where(
    CitizenSession.token_hash == bindparam("token_hash"),
    CitizenSession.ended_at.is_(None),
    CitizenSession.expires_at > bindparam("now"),
)
"""Statements built once, run on the session's connection: a flow reads and writes these rows
at every step, and building an ORM query each time cost more CPU than running it."""
_START = insert(CitizenSession)
_END = (
    update(CitizenSession)
    .where(CitizenSession.token_hash == bindparam("hashed"), CitizenSession.ended_at.is_(None))
    .values(ended_at=bindparam("at"))
)


def current_session(db: Session, token: str | None) -> SignedIn | None:
    if not token or len(token) > 128:
        return None
    row = db.connection().execute(_CURRENT, {"token_hash": digest(token), "now": utcnow()}).first()
    if row is None:
        return None
    return SignedIn(row.id, row.citizen_id, parse_vector(row.held), as_utc(row.auth_time))


def start_session(db: Session, citizen_id: int, held: Vector, method: str) -> str:
    """A new session (never a reused one, against fixation); returns the cookie value."""
    token = new_secret()
    now = utcnow()
    db.connection().execute(
        _START,
        {
            "token_hash": digest(token),
            "citizen_id": citizen_id,
            "held": held.text,
            "method": method,
            "auth_time": now,
            "expires_at": now + timedelta(seconds=SESSION_TTL),
        },
    )
    return token


def end_session(db: Session, token: str | None) -> None:
    if not token or len(token) > 128:
        return
    db.connection().execute(_END, {"hashed": digest(token), "at": utcnow()})


_HOLD = insert(PendingAuthorization)
_WAITING = select(
    PendingAuthorization.id,
    PendingAuthorization.binding_hash,
    PendingAuthorization.client_id,
    PendingAuthorization.query,
    PendingAuthorization.target,
    PendingAuthorization.created_at,
).where(
    PendingAuthorization.handle_hash == bindparam("handle_hash"),
    PendingAuthorization.completed_at.is_(None),
    PendingAuthorization.expires_at > bindparam("now"),
)
_COMPLETE = (
    update(PendingAuthorization)
    .where(
        PendingAuthorization.id == bindparam("pending_id"),
        PendingAuthorization.completed_at.is_(None),
    )
    .values(completed_at=bindparam("at"))
    .returning(PendingAuthorization.id)
)


def hold_request(
    db: Session,
    client_id: str,
    query: str,
    target: Vector,
    binding: str,
    since: datetime | None = None,
) -> str:
    """Keep a service's request while the citizen signs in (or consents); returns its handle.

    ``since`` backdates the request to a sign-in that already counts for it, so that the
    request resumed after consent still sees that sign-in as made for it.
    """
    handle = new_secret()
    now = utcnow()
    db.connection().execute(
        _HOLD,
        {
            "handle_hash": digest(handle),
            "binding_hash": digest(binding),
            "client_id": client_id,
            "query": query,
            "target": target.text,
            "created_at": since or now,
            "expires_at": now + timedelta(seconds=PENDING_TTL),
        },
    )
    return handle


@dataclass(frozen=True)
class Waiting:
    """A held request, found by its handle from the browser that started it."""

    id: int
    client_id: str
    query: str
    target: Vector
    created_at: datetime


def waiting_request(db: Session, handle: str, binding: str | None) -> Waiting | None:
    if not handle or len(handle) > 128 or not binding:
        return None
    params = {"handle_hash": digest(handle), "now": utcnow()}
    row = db.connection().execute(_WAITING, params).first()
    if row is None or not hmac.compare_digest(row.binding_hash, digest(binding)):
        return None
    return Waiting(
        row.id, row.client_id, row.query, parse_vector(row.target), as_utc(row.created_at)
    )


def complete_request(db: Session, waiting: Waiting) -> bool:
    """Mark a held request used; False if it was already (a second tab, a replayed link)."""
    done = db.connection().execute(_COMPLETE, {"pending_id": waiting.id, "at": utcnow()})
    return done.first() is not None


def end_session_by_id(db: Session, session_id: int) -> None:
    db.execute(
        update(CitizenSession)
        .where(CitizenSession.id == session_id, CitizenSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
