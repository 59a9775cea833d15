"""What the broker keeps: sign-ins under way at identity providers, linked accounts, consents.

Secrets the browser holds (the ``state``) are stored as SHA-256 digests; an identity provider's
subject is stored only as a keyed digest, so the hub's tables cannot be joined with the
provider's. The PKCE verifier and nonce live only until the sign-in finishes or lapses.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trusthub.db import Base
from trusthub.models_common import BigId

DIGEST = String(64)


class BrokerSignIn(Base):
    """A trip to an identity provider: what was asked, and what its answer must match."""

    __tablename__ = "identity_broker_sign_ins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    state_hash: Mapped[str] = mapped_column(DIGEST, unique=True)
    binding_hash: Mapped[str] = mapped_column(DIGEST, doc="Ties the trip to one browser.")
    provider: Mapped[str] = mapped_column(String(64), doc="The identity provider's slug.")
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    asked: Mapped[str] = mapped_column(String(32), doc="The vector asked of the provider.")
    target: Mapped[str] = mapped_column(String(32), doc="The vector the service needs.")
    next_path: Mapped[str] = mapped_column(String(300), doc="Where the citizen goes after.")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProviderLink(Base):
    """A citizen's account at an identity provider, tied to them once proven to P2."""

    __tablename__ = "identity_provider_links"
    __table_args__ = (UniqueConstraint("provider", "subject_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(64))
    subject_hash: Mapped[str] = mapped_column(DIGEST, doc="HMAC of the provider's sub.")
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClaimConsent(Base):
    """A citizen's consent for one relying party to receive one set of claims, until withdrawn."""

    __tablename__ = "identity_consents"
    __table_args__ = (Index("ix_identity_consents_citizen_client", "citizen_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    claims: Mapped[str] = mapped_column(String(1000), doc="Space-separated, sorted claim names.")
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
