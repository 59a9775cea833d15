"""The broker's one action layer: send the citizen to an identity provider, and take them back.

A trip has three steps so that no database transaction is open while the hub talks to a
provider: ``need`` reads what the service needs, ``outbound``/``redeem`` talk to the provider,
and ``conclude`` spends the trip once, judges the verified answer and starts the hub session.
``start_trip`` and ``finish_trip`` run the steps in turn in one worker thread, each database
step in a transaction of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from trusthub.db import transaction
from trusthub.identity.broker import client, link
from trusthub.identity.broker.config import (
    CALLBACK_PATH,
    BrokerSetup,
    IdentityProvider,
    find,
    key_store,
)
from trusthub.identity.broker.decide import Accept, ask_for, judge, must_prove
from trusthub.identity.broker.models import BrokerSignIn
from trusthub.identity.oidc import sessions
from trusthub.identity.oidc.clients import digest, load_client
from trusthub.identity.oidc.provider import PENDING_TTL, Provider
from trusthub.identity.oidc.store import as_utc
from trusthub.identity.oidc.vtr import Vector, parse_vector
from trusthub.models_common import utcnow
from trusthub.problems import NotFound, Problem

BROKER_METHOD = "broker"
ACCOUNT_PATH = "/account"
ACCOUNT_VECTOR = "Cl.Cm"
CONTINUE_PATH = "/oauth2/authorize/continue/"


def _expired() -> Problem:
    return Problem(
        400,
        "Your sign-in has expired",
        "Go back to the service and start again. A sign-in lasts 15 minutes and works only in "
        "the browser it was started in.",
        kind="sign-in-expired",
    )


def _refused(reason: str) -> Problem:
    return Problem(
        403,
        "We could not confirm who you are",
        "The identity provider's answer did not meet what the service needs, so nothing was "
        f"shared. Go back to the service and try again. (Reason: {reason}.)",
        kind="identity-refused",
    )


def check_form(csrf_token: str | None, binding: str | None) -> None:
    if not sessions.same_secret(csrf_token, binding):
        raise Problem(403, "This form has expired", "Go back and start again.", kind="csrf")


@dataclass(frozen=True)
class Choice:
    """What the choose-a-provider page shows."""

    client_name: str
    target: str
    providers: tuple[tuple[str, str], ...]
    demo: bool


@dataclass(frozen=True)
class Need:
    """What a trip must reach, and where the citizen goes afterwards."""

    target: Vector
    next_path: str


def need(db: Session, handle: str | None, binding: str | None) -> tuple[Need, str]:
    """The waiting service request (or the account page's own need) and the service's name."""
    if handle is None:
        return Need(parse_vector(ACCOUNT_VECTOR), ACCOUNT_PATH), "Your TrustHub account"
    waiting = sessions.waiting_request(db, handle, binding)
    if waiting is None:
        raise _expired()
    found = load_client(db, waiting.client_id)
    return Need(waiting.target, CONTINUE_PATH + handle), found.name if found else "A service"


def held_request(next_path: str) -> str | None:
    """The handle of the service's held request a sign-in carries on with, if it is one."""
    if next_path.startswith(CONTINUE_PATH):
        return next_path[len(CONTINUE_PATH) :] or None
    return None


def choice(
    db: Session, hub: Provider, setup: BrokerSetup, handle: str | None, binding: str | None
) -> Choice:
    wanted, name = need(db, handle, binding)
    offered = tuple(
        (p.slug, p.name) for p in setup.providers if p.reach_vector.satisfies(wanted.target)
    )
    demo = (
        handle is not None and hub.demo_sign_in and parse_vector("Cl.P0").satisfies(wanted.target)
    )
    return Choice(name, wanted.target.text, offered, demo)


def chosen(setup: BrokerSetup, slug: str) -> IdentityProvider:
    found = find(setup, slug)
    if found is None:
        raise Problem(
            422, "Choose how to prove who you are", "Select an identity provider.", kind="choose"
        )
    return found


def outbound(
    hub: Provider, idp: IdentityProvider, asked: Vector, transport: httpx.BaseTransport | None
) -> client.Outbound:
    """The provider's authorization URL (no database: call outside a transaction)."""
    try:
        return client.authorization_request(idp, hub.url(CALLBACK_PATH), asked, transport)
    except client.ProviderError as error:
        raise Problem(
            502,
            "The identity provider is not available",
            "Try again later, or choose another way to prove who you are.",
            kind="provider-unavailable",
        ) from error


_REMEMBER = insert(BrokerSignIn)
_TRIP = select(
    BrokerSignIn.id,
    BrokerSignIn.binding_hash,
    BrokerSignIn.provider,
    BrokerSignIn.nonce,
    BrokerSignIn.code_verifier,
    BrokerSignIn.asked,
    BrokerSignIn.target,
    BrokerSignIn.next_path,
    BrokerSignIn.created_at,
).where(
    BrokerSignIn.state_hash == bindparam("state_hash"),
    BrokerSignIn.completed_at.is_(None),
    BrokerSignIn.expires_at > bindparam("now"),
)
"""Statements built once: building them per request cost more CPU than running them."""
_SPEND = (
    update(BrokerSignIn)
    .where(BrokerSignIn.id == bindparam("trip_id"), BrokerSignIn.completed_at.is_(None))
    .values(completed_at=bindparam("at"))
    .returning(BrokerSignIn.id)
)


def remember_trip(
    db: Session,
    idp: IdentityProvider,
    trip: client.Outbound,
    asked: Vector,
    wanted: Need,
    binding: str,
) -> None:
    now = utcnow()
    db.connection().execute(
        _REMEMBER,
        {
            "state_hash": digest(trip.state),
            "binding_hash": digest(binding),
            "provider": idp.slug,
            "nonce": trip.nonce,
            "code_verifier": trip.code_verifier,
            "asked": asked.text,
            "target": wanted.target.text,
            "next_path": wanted.next_path,
            "created_at": now,
            "expires_at": now + timedelta(seconds=PENDING_TTL),
        },
    )


@dataclass(frozen=True)
class Trip:
    """A trip found by its callback's state, from the browser that started it."""

    id: int
    provider: str
    nonce: str
    code_verifier: str
    asked: Vector
    wanted: Need
    created_at: datetime


def take_trip(db: Session, state: str | None, binding: str | None) -> Trip:
    """The trip this callback ends, spent now: a state is answered once, from its own browser."""
    if not state or len(state) > 128 or not binding:
        raise _expired()
    connection = db.connection()
    row = connection.execute(_TRIP, {"state_hash": digest(state), "now": utcnow()}).first()
    if row is None or not sessions.same_secret(row.binding_hash, digest(binding)):
        raise _expired()
    spent = connection.execute(_SPEND, {"trip_id": row.id, "at": utcnow()}).first()
    if spent is None:
        raise _expired()
    return Trip(
        row.id,
        row.provider,
        row.nonce,
        row.code_verifier,
        parse_vector(row.asked),
        Need(parse_vector(row.target), row.next_path),
        as_utc(row.created_at),
    )


def redeem(
    hub: Provider,
    setup: BrokerSetup,
    trip: Trip,
    callback_url: str,
    state: str,
    transport: httpx.BaseTransport | None,
) -> client.Answer:
    """Redeem the code and verify everything the provider says (no database)."""
    idp = find(setup, trip.provider)
    if idp is None:
        raise NotFound("identity provider")
    keys = key_store(setup.client_keys, "broker client").keyring()
    try:
        return client.redeem(
            idp,
            hub.url(CALLBACK_PATH),
            callback_url,
            state,
            trip.nonce,
            trip.code_verifier,
            keys,
            transport,
        )
    except client.ProviderError as error:
        raise _refused(error.reason) from error


@dataclass(frozen=True)
class Callback:
    """What the browser brought back from the provider: the callback's query and its cookies."""

    url: str
    state: str | None
    error: bool
    binding: str | None
    session: str | None


@dataclass(frozen=True)
class SignedIn:
    """The hub session started: its cookie value, and where the citizen goes now."""

    token: str
    next_path: str


@dataclass(frozen=True)
class ProveFirst:
    """The account is not linked yet: back to the provider to prove identity to ``asked``."""

    idp: IdentityProvider
    asked: Vector
    wanted: Need


def conclude(
    db: Session,
    hub: Provider,
    setup: BrokerSetup,
    trip: Trip,
    answer: client.Answer,
    previous_session: str | None,
) -> SignedIn | ProveFirst:
    """Judge the verified answer, link the account if new, and start the hub session."""
    verdict = judge(trip.asked, answer.vot, answer.userinfo.get("gpg45"))
    if not isinstance(verdict, Accept):
        raise _refused(verdict.reason)
    hashed = link.subject_hash(hub.pairwise_key, trip.provider, answer.subject)
    citizen_id = link.linked_citizen(db, trip.provider, hashed)
    if citizen_id is None:
        if must_prove(verdict.held, linked=False):
            idp = find(setup, trip.provider)
            assert idp is not None
            return ProveFirst(idp, ask_for(trip.wanted.target, linked=False), trip.wanted)
        citizen_id = link.find_citizen(db, answer.userinfo)
        if citizen_id is None:
            raise Problem(
                403,
                "We could not find your records",
                "Your identity was proven, but TrustHub holds no one with exactly that name and "
                "date of birth. Nothing was shared.",
                kind="no-match",
            )
        link.link(db, citizen_id, trip.provider, hashed)
    sessions.end_session(db, previous_session)
    token = sessions.start_session(db, citizen_id, verdict.held, BROKER_METHOD)
    return SignedIn(token, trip.wanted.next_path)


def start_trip(
    factory: sessionmaker[Session],
    hub: Provider,
    setup: BrokerSetup,
    handle: str | None,
    slug: str,
    binding: str,
    transport: httpx.BaseTransport | None,
) -> client.Outbound:
    """Where to send the citizen: the chosen provider, asked for what the service needs."""
    with transaction(factory) as db:
        wanted, _ = need(db, handle, binding)
    idp = chosen(setup, slug)
    asked = ask_for(wanted.target, linked=True)
    trip = outbound(hub, idp, asked, transport)
    with transaction(factory) as db:
        remember_trip(db, idp, trip, asked, wanted, binding)
    return trip


def finish_trip(
    factory: sessionmaker[Session],
    hub: Provider,
    setup: BrokerSetup,
    callback: Callback,
    transport: httpx.BaseTransport | None,
) -> SignedIn | client.Outbound:
    """The callback's answer: signed in, or back to the provider to prove identity first.

    The trip is spent first, in a transaction of its own, whatever the provider answered.
    """
    with transaction(factory) as db:
        trip = take_trip(db, callback.state, callback.binding)
    if callback.error or not callback.state:
        raise Problem(
            400,
            "You did not finish proving who you are",
            "Go back to the service and try again, or choose another identity provider.",
            kind="provider-error",
        )
    answer = redeem(hub, setup, trip, callback.url, callback.state, transport)
    with transaction(factory) as db:
        outcome = conclude(db, hub, setup, trip, answer, callback.session)
    if isinstance(outcome, SignedIn):
        return outcome
    assert callback.binding is not None  # take_trip refuses a callback without one
    onward = outbound(hub, outcome.idp, outcome.asked, transport)
    with transaction(factory) as db:
        remember_trip(db, outcome.idp, onward, outcome.asked, outcome.wanted, callback.binding)
    return onward
