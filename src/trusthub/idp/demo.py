"""Ready demo accounts at every provider, and the hub registered as each provider's client.

Credentials are derived from the demo world's seed, so the seeding code and
``trusthub idp demo-accounts`` compute the same ones and no clear password is stored anywhere.
They are for the synthetic demo world only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import unicodedata
from dataclasses import dataclass
from datetime import date

import structlog
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from trusthub.config import Settings
from trusthub.db import make_session_factory, transaction
from trusthub.identity import gpg45
from trusthub.identity.broker.config import BROKER_JWKS_PATH, CALLBACK_PATH, demo_client_id
from trusthub.identity.gpg45 import Evidence, Scores
from trusthub.identity.models import Citizen
from trusthub.identity.oidc.keys import KeyRing
from trusthub.idp import dvla, mrz, world
from trusthub.idp.fraud import identity_key
from trusthub.idp.models import IdpAccount, IdpFraudMarker
from trusthub.idp.providers import BRANDS, enabled
from trusthub.idp.service import create_account, register_client

log = structlog.get_logger("trusthub.idp")

READY = 3
"""Ready accounts per provider."""
PASSPORT_EXPIRY = date(2031, 3, 31)
PROOFS = {
    "post-office": Scores((Evidence(4, 3),), 3, 2, 3),
    "credit-bureau": Scores((Evidence(3, 3),), 3, 2, 2),
    "bank": Scores((Evidence(4, 3),), 2, 2, 2),
}
"""What each provider checked of its ready accounts: passport and all KBV right (H1A, P3),
licence and KBV (M1B, P2), passport and KBV with one wrong (M1A, P2)."""


def proof_scores(slug: str, has_licence: bool) -> Scores:
    """A ready account's scores; without a licence on record the bureau checked a passport."""
    if slug == "credit-bureau" and not has_licence:
        return Scores((Evidence(4, 3),), 3, 2, 2)
    return PROOFS[slug]


def _derive(seed: int, *parts: str) -> bytes:
    return hashlib.blake2b("\x00".join(["trusthub-demo", str(seed), *parts]).encode()).digest()


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in folded if c.isalnum())


@dataclass(frozen=True)
class DemoAccount:
    """A ready account and what its holder would have in hand."""

    idp: str
    username: str
    password: str
    totp_secret: str
    given_name: str
    family_name: str
    birthdate: date
    passport_mrz: tuple[str, str]
    licence_number: str | None
    profile: str
    level: str


def _people(db: Session, count: int) -> list[Citizen]:
    """The first adult citizens of the demo world, with an address (lowest ids: stable)."""
    adult_before = date(2008, 1, 1)
    rows = db.scalars(
        select(Citizen).where(Citizen.date_of_birth < adult_before).order_by(Citizen.id).limit(50)
    )
    return [c for c in rows if c.addresses][:count]


def _sex(licence: str | None) -> str:
    if licence is None:
        return "<"
    return "F" if int(licence[6:8]) > 50 else "M"


def accounts(db: Session, seed: int) -> list[DemoAccount]:
    """The ready accounts for this demo world, computed (nothing secret is read back)."""
    made = []
    seen: set[str] = set()
    for citizen in _people(db, READY):
        licence = world.licence_on_record(db, citizen.id)
        birth = citizen.date_of_birth
        if (
            licence
            and not dvla.check(
                licence, citizen.family_name, citizen.given_name, birth
            ).matches_person
        ):
            licence = None  # the licence still bears an old name: not a ready document
        number = world.passport_number(seed, citizen.nhs_number)
        lines = mrz.make_td3(
            citizen.family_name,
            citizen.given_name,
            number,
            citizen.date_of_birth,
            _sex(licence),
            PASSPORT_EXPIRY,
        )
        username = f"{_ascii(citizen.given_name)}.{_ascii(citizen.family_name)}"
        username = username if username not in seen else f"{username}{citizen.id}"
        seen.add(username)
        for slug in BRANDS:
            scores = proof_scores(slug, licence is not None)
            profile = gpg45.best_profile(scores)
            assert profile is not None
            password = "demo-" + base64.b32encode(_derive(seed, slug, username, "pw")[:10]).decode()
            totp = base64.b32encode(_derive(seed, slug, username, "totp")[:20]).decode()
            made.append(
                DemoAccount(
                    slug,
                    username,
                    password.lower(),
                    totp,
                    citizen.given_name,
                    citizen.family_name,
                    citizen.date_of_birth,
                    lines,
                    licence,
                    profile.name,
                    f"P{profile.confidence}",
                )
            )
    return made


def seed_accounts(db: Session, seed: int) -> int:
    """Create the ready accounts that do not exist yet; returns how many were made."""
    made = 0
    for ready in accounts(db, seed):
        exists = db.scalar(
            select(IdpAccount.id).where(
                IdpAccount.idp == ready.idp, IdpAccount.username == ready.username
            )
        )
        if exists is not None:
            continue
        citizen = world.find_citizen(db, ready.given_name, ready.family_name, ready.birthdate)
        account = create_account(
            db,
            ready.idp,
            ready.username,
            ready.password,
            given_name=ready.given_name,
            family_name=ready.family_name,
            birthdate=ready.birthdate,
            addresses=world.addresses(citizen) if citizen else [],
            totp_secret=ready.totp_secret,
        )
        scores = proof_scores(ready.idp, ready.licence_number is not None)
        profile = gpg45.best_profile(scores)
        account.confidence = profile.confidence if profile else 0
        account.gpg45 = gpg45.claim(scores, profile)
        made += 1
    return made


def flag_fraud(db: Session) -> int:
    """Put the fourth adult of the demo world on the fraud list as a stolen identity."""
    people = _people(db, READY + 1)
    if len(people) <= READY:
        return 0
    victim = people[READY]
    key = identity_key(victim.given_name, victim.family_name, victim.date_of_birth)
    if db.scalar(select(IdpFraudMarker.id).where(IdpFraudMarker.identity_key == key)):
        return 0
    db.add(IdpFraudMarker(identity_key=key, code="stolen"))
    return 1


def _broker_public_jwks(settings: Settings) -> dict[str, object] | None:
    """The broker's public keys when they are at hand in this process (development)."""
    try:
        from trusthub.identity.broker.config import broker_setup

        source = broker_setup(settings).client_keys
    except Exception:
        return None
    if source is None:
        return None
    text = source if isinstance(source, str) and source.lstrip().startswith("{") else None
    if text is None:
        from pathlib import Path

        text = Path(source).read_text()
    return KeyRing.from_jwks(json.loads(text)).public_jwks()


def register_hub(db: Session, settings: Settings) -> list[str]:
    """Register the hub's broker at every demo provider (idempotent); returns the client ids."""
    hub = (settings.identity_issuer or settings.base_url).rstrip("/")
    jwks = _broker_public_jwks(settings)
    ids = []
    for slug in BRANDS:
        ids.append(
            register_client(
                db,
                slug,
                [hub + CALLBACK_PATH],
                client_id=demo_client_id(slug),
                name="TrustHub",
                jwks=jwks,
                jwks_uri=hub + BROKER_JWKS_PATH,
            ).client_id
        )
    return ids


def seed(db: Session, settings: Settings) -> dict[str, int]:
    """Everything the demo needs at the providers: the hub as client, ready accounts, fraud."""
    clients = len(register_hub(db, settings))
    made = seed_accounts(db, settings.demo_seed)
    flagged = flag_fraud(db)
    log.info("idp.demo_seeded", clients=clients, accounts=made, fraud_markers=flagged)
    return {"clients": clients, "accounts": made, "fraud_markers": flagged}


def register_hub_on_start(settings: Settings, engine: Engine) -> None:
    """In development, make sure the hub's broker is a client of every demo provider.

    Never stops the app: an unmigrated database or missing keys are logged and left alone.
    """
    if settings.environment != "development" or not enabled(settings):
        return
    try:
        with transaction(make_session_factory(engine)) as db:
            register_hub(db, settings)
    except Exception as error:  # the hub runs without its demo providers
        log.warning("idp.hub_not_registered", error=type(error).__name__)
