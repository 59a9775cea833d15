"""What the identity providers store: accounts, their clients, and only hashes of secrets.

Every table carries the provider's slug: the three providers share a schema, never a row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from trusthub.db import Base
from trusthub.models_common import BigId, Timestamp

DIGEST = String(64)
SLUG = String(32)


class IdpAccount(Base):
    """A person's account at one provider: credentials, and the identity it has proven."""

    __tablename__ = "idp_accounts"
    __table_args__ = (UniqueConstraint("idp", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idp: Mapped[str] = mapped_column(SLUG)
    username: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64), unique=True, doc="The stable public sub.")
    password_hash: Mapped[str] = mapped_column(Text, doc="Argon2id.")
    totp_secret: Mapped[str | None] = mapped_column(String(64), doc="Base32; None: no 2nd factor.")
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    birthdate: Mapped[date | None] = mapped_column(Date)
    addresses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    confidence: Mapped[int] = mapped_column(Integer, default=0, doc="GPG 45: 0 none .. 3 high.")
    gpg45: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="Scores and profile reached.")
    proof: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="A proof under way.")
    totp_step: Mapped[int | None] = mapped_column(Integer, doc="Last TOTP step used: no replay.")
    created_at: Mapped[Timestamp]


class IdpClient(Base):
    """A relying party of one provider: in practice the hub's broker."""

    __tablename__ = "idp_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    idp: Mapped[str] = mapped_column(SLUG)
    client_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(Text)
    client_secret_hash: Mapped[str | None] = mapped_column(DIGEST)
    created_at: Mapped[Timestamp]

    __table_args__ = (UniqueConstraint("idp", "client_id"),)


class IdpSession(Base):
    """A person signed in at a provider, with the vector that sign-in achieved."""

    __tablename__ = "idp_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idp: Mapped[str] = mapped_column(SLUG)
    token_hash: Mapped[str] = mapped_column(DIGEST, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("idp_accounts.id", ondelete="CASCADE"))
    credential: Mapped[int] = mapped_column(Integer, doc="1: password, 2: password and TOTP.")
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdpPending(Base):
    """An authorization request held while the person signs in or proves who they are."""

    __tablename__ = "idp_pending"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idp: Mapped[str] = mapped_column(SLUG)
    handle_hash: Mapped[str] = mapped_column(DIGEST, unique=True)
    binding_hash: Mapped[str] = mapped_column(DIGEST, doc="Ties the flow to one browser.")
    client_id: Mapped[str] = mapped_column(String(64))
    query: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(String(32), doc="The vector the sign-in must reach.")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdpCode(Base):
    __tablename__ = "idp_codes"
    __table_args__ = (Index("ix_idp_codes_client_nonce", "idp", "client_id", "nonce"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idp: Mapped[str] = mapped_column(SLUG)
    code_hash: Mapped[str] = mapped_column(DIGEST, unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("idp_accounts.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(1000))
    nonce: Mapped[str] = mapped_column(String(255))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    vot: Mapped[str] = mapped_column(String(32))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdpAccessToken(Base):
    __tablename__ = "idp_access_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idp: Mapped[str] = mapped_column(SLUG)
    token_hash: Mapped[str] = mapped_column(DIGEST, unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("idp_accounts.id", ondelete="CASCADE"))
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("idp_codes.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(1000))
    vot: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdpUsedAssertion(Base):
    """A client assertion's jti, kept while the assertion counts: a second use is a replay."""

    __tablename__ = "idp_used_assertions"

    key: Mapped[str] = mapped_column(DIGEST, primary_key=True, doc="SHA-256 of idp, client, jti.")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class IdpAttempt(Base):
    """A failed sign-in, by account and by client address (both hashed), for rate limiting."""

    __tablename__ = "idp_attempts"
    __table_args__ = (Index("ix_idp_attempts_key_at", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(DIGEST)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdpFraudMarker(Base):
    """A contra-indicator on an identity, as a fraud-prevention service shares it."""

    __tablename__ = "idp_fraud_markers"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_key: Mapped[str] = mapped_column(DIGEST, index=True, doc="Names and birth date.")
    code: Mapped[str] = mapped_column(String(32), doc="stolen, deceased, synthetic, ...")
    created_at: Mapped[Timestamp]
