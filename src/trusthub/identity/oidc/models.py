"""What the OpenID Connect provider stores: clients, and only hashes of codes, tokens and sessions.

Every secret value (code, token, session or flow handle) is random with 256+ bits, so a plain
SHA-256 digest is enough to store it: a database leak gives nothing that can be replayed.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trusthub.db import Base
from trusthub.models_common import BigId, Timestamp, str_enum

DIGEST = String(64)
"""A hex SHA-256 digest."""


class ClientKind(enum.StrEnum):
    RELYING_PARTY = "relying_party"
    """A service citizens sign in to, through the authorization code flow."""
    MACHINE = "machine"
    """An organisation's system, which gets tokens by the client credentials grant."""


class OAuthClient(Base):
    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ClientKind] = mapped_column(str_enum(ClientKind, "oauth_client_kind"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), doc="The organisation a machine client acts for."
    )
    sector_identifier: Mapped[str] = mapped_column(
        String(255), doc="Clients of one sector see the same pairwise subject for a citizen."
    )
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    scope: Mapped[str] = mapped_column(String(1000), doc="Space-separated scopes it may get.")
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="Public keys (private_key_jwt).")
    client_secret_hash: Mapped[str | None] = mapped_column(DIGEST)
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(8), default="ES256")
    created_at: Mapped[Timestamp]
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rp_kind: Mapped[str] = mapped_column(
        String(16),
        default="government",
        server_default="government",
        doc="government or non_government (asks consent).",
    )
    allowed_claims: Mapped[list[str] | None] = mapped_column(
        JSON, doc="Claims a relying party may receive; None: every claim its scopes give."
    )
    minimum_vector: Mapped[str | None] = mapped_column(
        String(32), doc="The least vector of trust the hub asks for on its behalf."
    )


class CitizenSession(Base):
    """A citizen signed in at the hub, with the vector of trust the sign-in achieved."""

    __tablename__ = "identity_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(DIGEST, unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    held: Mapped[str] = mapped_column(String(32), doc="Vector achieved, e.g. Cl.P0.")
    method: Mapped[str] = mapped_column(String(32), doc="How the citizen signed in, e.g. demo.")
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PendingAuthorization(Base):
    """A service's authorization request waiting while the citizen signs in or steps up."""

    __tablename__ = "oidc_pending_authorizations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    handle_hash: Mapped[str] = mapped_column(DIGEST, unique=True)
    binding_hash: Mapped[str] = mapped_column(DIGEST, doc="Ties the flow to one browser.")
    client_id: Mapped[str] = mapped_column(String(64))
    query: Mapped[str] = mapped_column(Text, doc="The authorization request, replayed after.")
    target: Mapped[str] = mapped_column(String(32), doc="The vector sign-in must reach.")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuthorizationCode(Base):
    __tablename__ = "oauth_authorization_codes"
    __table_args__ = (Index("ix_oauth_authorization_codes_client_nonce", "client_id", "nonce"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(DIGEST, unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(1000))
    nonce: Mapped[str] = mapped_column(String(255))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    vot: Mapped[str] = mapped_column(String(32))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccessToken(Base):
    """An access token issued to a relying party for a citizen, kept so that it can be revoked."""

    __tablename__ = "oauth_access_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(DIGEST, unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("oauth_authorization_codes.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(1000))
    vot: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UsedAssertion(Base):
    """A client assertion's ``jti`` seen before its expiry: a second use is a replay."""

    __tablename__ = "oauth_used_assertions"

    key: Mapped[str] = mapped_column(DIGEST, primary_key=True, doc="SHA-256 of client_id, jti.")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
