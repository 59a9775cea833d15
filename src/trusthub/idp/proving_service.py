"""Proving who someone is at a provider: register, second factor, documents, questions, result.

Part of the providers' action layer (``service.py`` re-exports nothing; pages call these): each
step checks the form's CSRF token against the browser's flow binding and needs the session the
step before made.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from trusthub.config import Settings
from trusthub.identity import gpg45
from trusthub.identity.gpg45 import Evidence, Scores
from trusthub.identity.models import Citizen
from trusthub.idp import credentials, fraud, kbv, proof, store, world
from trusthub.idp.claims import Address
from trusthub.idp.dvla import check as check_licence
from trusthub.idp.models import IdpAccount
from trusthub.idp.mrz import MrzError, parse_td3
from trusthub.idp.providers import brand
from trusthub.idp.service import check_csrf, create_account, waiting
from trusthub.models_common import utcnow
from trusthub.problems import InvalidInput, Problem


@dataclass(frozen=True)
class Registration:
    username: str
    password: str
    given_name: str
    family_name: str
    birthdate: date
    line1: str
    town: str
    postcode: str


def _signed_in(db: Session, idp: str, session_token: str | None, credential: int) -> IdpAccount:
    signed_in = store.current_session(db, idp, session_token)
    account = db.get(IdpAccount, signed_in.account_id) if signed_in else None
    if signed_in is None or account is None or signed_in.credential < credential:
        raise Problem(
            401, "Sign in first", "Your session has ended. Start again.", kind="sign-in-needed"
        )
    return account


def register(
    db: Session,
    idp: str,
    handle: str,
    binding: str | None,
    csrf_token: str | None,
    form: Registration,
    previous_session: str | None,
) -> str:
    """A new account (password and a TOTP secret to set up next); returns a one-factor session."""
    check_csrf(csrf_token, binding)
    waiting(db, idp, handle, binding)
    account = create_account(
        db,
        idp,
        form.username,
        form.password,
        given_name=form.given_name.strip(),
        family_name=form.family_name.strip(),
        birthdate=form.birthdate,
        addresses=[Address(form.line1.strip(), form.town.strip(), form.postcode.strip().upper())],
        totp_secret=credentials.new_totp_secret(),
    )
    store.end_session(db, idp, previous_session)
    return store.start_session(db, idp, account.id, 1)


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    uri: str


def totp_setup(db: Session, idp: str, session_token: str | None) -> TotpSetup:
    """The secret to put in an authenticator app, shown only until a first code is used."""
    account = _signed_in(db, idp, session_token, 1)
    if not account.totp_secret or account.totp_step is not None:
        raise Problem(409, "Your security codes are already set up", kind="totp-set-up")
    uri = credentials.totp_uri(account.totp_secret, account.username, brand(idp).name)
    return TotpSetup(account.totp_secret, uri)


def confirm_totp(
    db: Session,
    idp: str,
    handle: str,
    binding: str | None,
    csrf_token: str | None,
    session_token: str | None,
    code: str,
) -> str:
    """A first code from the app proves it is set up; returns a two-factor session."""
    check_csrf(csrf_token, binding)
    waiting(db, idp, handle, binding)
    account = _signed_in(db, idp, session_token, 1)
    step = credentials.totp_step(account.totp_secret, code, utcnow(), account.totp_step)
    if step is None:
        raise InvalidInput([{"field": "totp", "message": "Enter the 6-digit code your app shows"}])
    account.totp_step = step
    store.end_session(db, idp, session_token)
    return store.start_session(db, idp, account.id, 2)


def submit_documents(
    db: Session,
    idp: str,
    handle: str,
    binding: str | None,
    csrf_token: str | None,
    session_token: str | None,
    settings: Settings,
    mrz_line1: str,
    mrz_line2: str,
    licence_number: str,
) -> None:
    """Check a passport zone and/or a driver number against the person; keep the proof begun."""
    check_csrf(csrf_token, binding)
    waiting(db, idp, handle, binding)
    account = _signed_in(db, idp, session_token, 2)
    if not (account.given_name and account.family_name and account.birthdate):
        raise Problem(400, "Your account has no name or date of birth to prove", kind="no-claim")
    claimed = proof.Claimed(account.given_name, account.family_name, account.birthdate)
    today = utcnow().date()
    citizen = world.find_citizen(db, claimed.given_name, claimed.family_name, claimed.birthdate)
    evidence: list[Evidence] = []
    errors: list[dict[str, str]] = []
    if mrz_line1.strip() or mrz_line2.strip():
        try:
            passport = parse_td3(mrz_line1, mrz_line2, today)
        except MrzError:
            errors.append({"field": "mrz_line1", "message": "Enter both lines exactly as printed"})
        else:
            problem = proof.passport_problem(passport, claimed, today)
            if problem:
                errors.append({"field": "mrz_line1", "message": problem})
            else:
                issued = citizen is not None and passport.document_number == (
                    world.passport_number(settings.demo_seed, citizen.nhs_number)
                )
                evidence.append(proof.passport_evidence(issued))
    if licence_number.strip():
        checked = check_licence(
            licence_number, claimed.family_name, claimed.given_name, claimed.birthdate
        )
        on_record = citizen is not None and (
            (world.licence_on_record(db, citizen.id) or "")
            == licence_number.replace(" ", "").upper()
        )
        piece = proof.licence_evidence(checked, on_record)
        if piece is None:
            message = "This is not a driving licence number made from your name and birth date"
            errors.append({"field": "licence_number", "message": message})
        else:
            evidence.append(piece)
    if not evidence and not errors:
        errors.append({"field": "mrz_line1", "message": "Enter your passport or driving licence"})
    if errors:
        raise InvalidInput(errors)
    contra = world.contra_indicators(db, claimed.given_name, claimed.family_name, claimed.birthdate)
    first_seen = min((a.moved_in for a in citizen.addresses), default=None) if citizen else None
    account.proof = {
        "evidence": [[e.strength, e.validity] for e in evidence],
        "activity": proof.activity_score(first_seen, today),
        "fraud": fraud.fraud_score(contra, world.record_count(db, citizen.id) if citizen else 0),
        "contra_indicators": contra,
        "citizen_id": citizen.id if citizen else None,
        "kbv_seed": secrets.randbelow(2**31),
    }


def questions_for(db: Session, account: IdpAccount) -> tuple[kbv.Question, ...]:
    state = account.proof or {}
    citizen_id = state.get("citizen_id")
    citizen = db.get(Citizen, citizen_id) if citizen_id else None
    facts = world.kbv_facts(db, citizen) if citizen else []
    return kbv.questions(facts, int(state.get("kbv_seed", 0)))


def kbv_view(db: Session, idp: str, session_token: str | None) -> tuple[kbv.Question, ...]:
    """The questions to ask (the page shows prompts and options, never which is right)."""
    account = _signed_in(db, idp, session_token, 2)
    if not account.proof:
        raise Problem(409, "Give a document first", kind="no-proof-begun")
    return questions_for(db, account)


@dataclass(frozen=True)
class ProofOutcome:
    profile: str | None
    level: int
    claim: dict[str, Any]
    contra_indicated: bool
    meets_target: bool


def answer_kbv(
    db: Session,
    idp: str,
    handle: str,
    binding: str | None,
    csrf_token: str | None,
    session_token: str | None,
    answers: dict[str, str],
) -> ProofOutcome:
    """Score the answers, then the whole proof: the profile reached is the account's level."""
    check_csrf(csrf_token, binding)
    held_request = waiting(db, idp, handle, binding)
    account = _signed_in(db, idp, session_token, 2)
    state = account.proof
    if not state:
        raise Problem(409, "Give a document first", kind="no-proof-begun")
    asked = questions_for(db, account)
    scores = Scores(
        tuple(Evidence(s, v) for s, v in state["evidence"]),
        int(state["activity"]),
        int(state["fraud"]),
        kbv.verification_score(asked, answers),
    )
    contra = bool(state.get("contra_indicators"))
    profile = gpg45.best_profile(scores, contra_indicated=contra)
    level = profile.confidence if profile else 0
    account.proof = None
    if level >= account.confidence:
        account.confidence = level
        account.gpg45 = gpg45.claim(scores, profile)
        citizen_id = state.get("citizen_id")
        if citizen_id and level > 0:
            citizen = db.get(Citizen, citizen_id)
            if citizen is not None:
                account.addresses = [a.as_record() for a in world.addresses(citizen)]
    claim = gpg45.claim(scores, profile)
    meets = account.confidence >= held_request.target.confidence
    return ProofOutcome(claim["profile"], level, claim, contra, meets)
