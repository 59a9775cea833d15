"""The provider's reads and writes of codes, tokens and used assertions, atomic where it matters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.orm import Session

from trusthub.identity.broker.models import BrokerSignIn
from trusthub.identity.oidc import driver
from trusthub.identity.oidc.clients import digest
from trusthub.identity.oidc.models import (
    AccessToken,
    AuthorizationCode,
    CitizenSession,
    PendingAuthorization,
    UsedAssertion,
)
from trusthub.models_common import utcnow

RETAIN_USED = timedelta(days=1)
"""How long spent codes stay after expiry: long enough to catch a reused code or nonce."""


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_REMEMBER = (
    "INSERT INTO oauth_used_assertions (key, expires_at) VALUES ({0}, {0})"
    " ON CONFLICT (key) DO NOTHING"
)
_REMEMBER_SQLITE = _REMEMBER.format("?")
_REMEMBER_RETURNING = {
    "sqlite": _REMEMBER_SQLITE + " RETURNING key",
    "postgresql": _REMEMBER.format("%s") + " RETURNING key",
}
"""An insert that does nothing if the jti was seen — atomic, no race — in the driver's SQL."""
_REMEMBER_RELAXED = (
    "INSERT INTO oauth_used_assertions (key, expires_at)"
    " SELECT %s, %s FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"
    " ON CONFLICT (key) DO NOTHING RETURNING key"
)
"""The same insert on PostgreSQL, with ``SET LOCAL synchronous_commit TO OFF`` in the same round
trip: ``set_config(..., true)`` is SET LOCAL, and the setting is read when the transaction
commits."""
_RELAXED = "trusthub.relaxed_commit"
_SQLITE = sqlite_dialect()
_SQLITE_EXPIRES: Any = UsedAssertion.__table__.c.expires_at.type.dialect_impl(
    _SQLITE
).bind_processor(_SQLITE)
"""How SQLAlchemy writes the column on SQLite, so rows read back (and purge) the same."""


def remember_assertion(session: Session, client_id: str, jti: str, expires_at: datetime) -> bool:
    """Record a client assertion's jti; False if it was seen before (a replay). One statement.

    On SQLite the jti is committed at once on a connection of its own that skips the fsync
    (see ``driver.unsynced``), unless this transaction has already written. On PostgreSQL a
    relaxed grant (``relax_commit_durability``) commits it at once too, in autocommit with
    ``synchronous_commit`` off for that statement, unless this transaction has already written;
    any other jti rides in the request's transaction.
    """
    key = digest(f"{client_id}\x00{jti}")
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        stored = _SQLITE_EXPIRES(expires_at)
        side = driver.unsynced(session.get_bind())
        if side is not None and not driver.has_written(session):
            return driver.write_committed(side, _REMEMBER_SQLITE, (key, stored)) == 1
        return driver.write_in_session(session, _REMEMBER_RETURNING[dialect], (key, stored))
    # RETURNING, not rowcount: rowcount is not portable across drivers
    if session.info.get(_RELAXED):
        side = driver.unsynced(session.get_bind())
        if side is not None and not driver.has_connection(session):
            return driver.write_committed(side, _REMEMBER_RELAXED, (key, expires_at)) == 1
        return driver.write_in_session(session, _REMEMBER_RELAXED, (key, expires_at))
    return driver.write_in_session(session, _REMEMBER_RETURNING[dialect], (key, expires_at))


def assertion_write(
    dialect: str, client_id: str, jti: str, expires_at: datetime
) -> tuple[str, tuple[Any, ...]]:
    """The statement and parameters that record a jti on their own, committed at once (no
    fsync wait): it returns a row only if the jti was not seen before."""
    key = digest(f"{client_id}\x00{jti}")
    if dialect == "sqlite":
        return _REMEMBER_RETURNING["sqlite"], (key, _SQLITE_EXPIRES(expires_at))
    return _REMEMBER_RELAXED, (key, expires_at)


def relax_commit_durability(session: Session) -> None:
    """Let this transaction's used jti skip the wait for the disk (PostgreSQL).

    Sent with the jti's insert, the grant's one write, rather than as a round trip of its own
    (``SET LOCAL synchronous_commit TO OFF`` in the same statement); a grant that writes
    nothing has nothing to relax.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.info[_RELAXED] = True


class AuthlibCode:
    """The reads Authlib's code grant and OpenID extension make of a spent code, written once."""

    redirect_uri: str
    scope: str
    nonce: str
    auth_time: datetime

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass(frozen=True)
class IssuedCode(AuthlibCode):
    """An authorization code of the hub: its holder is a citizen."""

    id: int
    client_id: str
    citizen_id: int
    redirect_uri: str
    scope: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    vot: str
    auth_time: datetime


_SPEND = (
    update(AuthorizationCode)
    .where(
        AuthorizationCode.code_hash == bindparam("hashed"),
        AuthorizationCode.client_id == bindparam("b_client_id"),
        AuthorizationCode.used_at.is_(None),
        AuthorizationCode.expires_at > bindparam("now"),
    )
    .values(used_at=bindparam("now"))
    .returning(
        AuthorizationCode.id,
        AuthorizationCode.client_id,
        AuthorizationCode.citizen_id,
        AuthorizationCode.redirect_uri,
        AuthorizationCode.scope,
        AuthorizationCode.nonce,
        AuthorizationCode.code_challenge,
        AuthorizationCode.code_challenge_method,
        AuthorizationCode.vot,
        AuthorizationCode.auth_time,
    )
)
"""Built once, run on the session's connection: one statement spends the code and reads it."""


def consume_code(session: Session, code: str, client_id: str) -> IssuedCode | None:
    """Spend a code once: the first redemption wins; a reuse revokes what the code gave."""
    now = utcnow()
    code_hash = digest(code)
    params = {"hashed": code_hash, "b_client_id": client_id, "now": now}
    row = session.connection().execute(_SPEND, params).first()
    if row is None:
        spent = session.scalar(
            select(AuthorizationCode.id).where(
                AuthorizationCode.code_hash == code_hash, AuthorizationCode.used_at.is_not(None)
            )
        )
        if spent is not None:  # RFC 6749 §4.1.2: revoke the tokens the code already gave
            session.execute(
                update(AccessToken)
                .where(AccessToken.code_id == spent, AccessToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return None
    return IssuedCode(
        id=row.id,
        client_id=row.client_id,
        citizen_id=row.citizen_id,
        redirect_uri=row.redirect_uri,
        scope=row.scope,
        nonce=row.nonce,
        code_challenge=row.code_challenge,
        code_challenge_method=row.code_challenge_method,
        vot=row.vot,
        auth_time=as_utc(row.auth_time),
    )


_NONCE = (
    select(AuthorizationCode.id)
    .where(
        AuthorizationCode.client_id == bindparam("client_id"),
        AuthorizationCode.nonce == bindparam("nonce"),
    )
    .limit(1)
)


def nonce_seen(session: Session, client_id: str, nonce: str) -> bool:
    found = session.connection().execute(_NONCE, {"client_id": client_id, "nonce": nonce})
    return found.first() is not None


@dataclass(frozen=True)
class LiveToken:
    """A citizen's access token found unrevoked and unexpired."""

    client_id: str
    citizen_id: int
    scope: str
    vot: str


_LIVE_TOKEN = select(
    AccessToken.client_id, AccessToken.citizen_id, AccessToken.scope, AccessToken.vot
).where(
    AccessToken.token_hash == bindparam("token_hash"),
    AccessToken.revoked_at.is_(None),
    AccessToken.expires_at > bindparam("now"),
)


def live_token(session: Session, token: str) -> LiveToken | None:
    found = (
        session.connection()
        .execute(_LIVE_TOKEN, {"token_hash": digest(token), "now": utcnow()})
        .first()
    )
    return None if found is None else LiveToken(*found)


def purge_expired(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Delete what can no longer be used, so the replay and code stores stay small."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    statements = {
        "assertions": delete(UsedAssertion).where(UsedAssertion.expires_at < now),
        "tokens": delete(AccessToken).where(AccessToken.expires_at < now - RETAIN_USED),
        "codes": delete(AuthorizationCode).where(AuthorizationCode.expires_at < now - RETAIN_USED),
        "pending": delete(PendingAuthorization).where(PendingAuthorization.expires_at < now),
        "sessions": delete(CitizenSession).where(CitizenSession.expires_at < now),
        "broker_sign_ins": delete(BrokerSignIn).where(BrokerSignIn.expires_at < now),
    }
    for name, statement in statements.items():
        result = session.execute(statement)
        counts[name] = int(result.rowcount)  # type: ignore[attr-defined]
    return counts
