"""The citizen's account: providers linked, services signed in to, consents, signing out.

Services and the claims they got are read from the ledger itself (the identity part's entries
about this citizen), so the account page shows exactly what is on the record.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from sqlalchemy import update
from sqlalchemy.orm import Session

from trusthub.identity.broker import consent, link
from trusthub.identity.broker.config import BrokerSetup, find
from trusthub.identity.oidc import sessions
from trusthub.identity.oidc.claims import released_claims
from trusthub.identity.oidc.clients import load_client
from trusthub.identity.oidc.models import AccessToken, CitizenSession
from trusthub.identity.oidc.provider import Provider
from trusthub.identity.oidc.release import SOURCE
from trusthub.identity.oidc.store import as_utc
from trusthub.ledger import service as ledger_service
from trusthub.ledger.runtime import Ledger
from trusthub.models_common import utcnow
from trusthub.problems import Problem

TIME_FORMAT = "%d %B %Y %H:%M"


def csrf_token(hub: Provider, session_token: str) -> str:
    """The account forms' CSRF token: bound to this hub session, useless without its cookie."""
    message = b"account-csrf\x00" + session_token.encode()
    return hmac.new(hub.pairwise_key, message, hashlib.sha256).hexdigest()


def check_csrf(hub: Provider, session_token: str | None, given: str | None) -> None:
    if not session_token or not given:
        raise Problem(403, "This form has expired", "Reload the page and try again.", kind="csrf")
    if not hmac.compare_digest(csrf_token(hub, session_token), given):
        raise Problem(403, "This form has expired", "Reload the page and try again.", kind="csrf")


@dataclass(frozen=True)
class LinkedProvider:
    name: str
    linked_at: str
    last_used_at: str


@dataclass(frozen=True)
class ServiceUse:
    name: str
    claims: tuple[str, ...]
    time: str


@dataclass(frozen=True)
class ConsentItem:
    id: int
    name: str
    claims: tuple[str, ...]


@dataclass(frozen=True)
class AccountView:
    held: str
    providers: list[LinkedProvider] = field(default_factory=list)
    services: list[ServiceUse] = field(default_factory=list)
    consents: list[ConsentItem] = field(default_factory=list)


def _client_name(db: Session, client_id: str, fallback: str) -> str:
    found = load_client(db, client_id)
    return found.name if found else fallback


def services_used(db: Session, ledger: Ledger, citizen_id: int) -> list[ServiceUse]:
    """Every release of claims to a service, newest first, as the ledger holds it."""
    with ledger.sessions() as ledger_db:
        entries = ledger_service.entries_for_citizen(ledger_db, citizen_id, ledger.keys.commitment)
    uses = [
        ServiceUse(
            _client_name(db, e.entry.client, e.entry.organisation),
            e.entry.fields,
            e.entry.time.strftime(TIME_FORMAT),
        )
        for e in sorted(entries, key=lambda e: e.index, reverse=True)
        if e.entry.source == SOURCE
    ]
    return uses


def view(
    db: Session, ledger: Ledger, setup: BrokerSetup, citizen_id: int, held: str
) -> AccountView:
    providers = []
    for row in link.links_of(db, citizen_id):
        configured = find(setup, row.provider)
        providers.append(
            LinkedProvider(
                configured.name if configured else row.provider,
                as_utc(row.linked_at).strftime(TIME_FORMAT),
                as_utc(row.last_used_at).strftime(TIME_FORMAT),
            )
        )
    consents = [
        ConsentItem(c.id, _client_name(db, c.client_id, c.client_id), c.claims)
        for c in consent.given(db, citizen_id)
    ]
    return AccountView(held, providers, services_used(db, ledger, citizen_id), consents)


def sign_out_everywhere(db: Session, citizen_id: int) -> None:
    """End every hub session of the citizen and revoke every access token services hold."""
    now = utcnow()
    db.execute(
        update(CitizenSession)
        .where(CitizenSession.citizen_id == citizen_id, CitizenSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    db.execute(
        update(AccessToken)
        .where(AccessToken.citizen_id == citizen_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


@dataclass(frozen=True)
class ConsentView:
    client_name: str
    claims: list[tuple[str, str]]
    asked: tuple[str, ...]


def _consent_request(
    db: Session, handle: str, binding: str | None, session_token: str | None
) -> tuple[sessions.Waiting, sessions.SignedIn, ConsentView]:
    waiting = sessions.waiting_request(db, handle, binding)
    signed_in = sessions.current_session(db, session_token)
    found = load_client(db, waiting.client_id) if waiting else None
    if waiting is None or signed_in is None or found is None:
        raise Problem(
            400,
            "Your sign-in has expired",
            "Go back to the service and start again.",
            kind="sign-in-expired",
        )
    scope = dict(parse_qsl(waiting.query)).get("scope", "")
    scopes = (found.get_allowed_scope(scope) or "").split()
    asked = released_claims(scopes, waiting.target.confidence, found.allowed_claims)
    return waiting, signed_in, ConsentView(found.name, consent.labelled(asked), asked)


def consent_view(
    db: Session, handle: str, binding: str | None, session_token: str | None
) -> ConsentView:
    return _consent_request(db, handle, binding, session_token)[2]


def give_consent(db: Session, handle: str, binding: str | None, session_token: str | None) -> None:
    """Record the citizen's consent to exactly the claims the waiting request will release."""
    waiting, signed_in, shown = _consent_request(db, handle, binding, session_token)
    consent.grant(db, signed_in.citizen_id, waiting.client_id, shown.asked)
