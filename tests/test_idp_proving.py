"""Proving who you are at a provider, in the browser: register, codes, passport, questions."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pyotp
from authlib.common.security import generate_token
from sqlalchemy import Engine, select

from idp_world import CSRF, REDIRECT, IdpWorld, build, discover, relying_party
from trusthub.demo.service import seed_database
from trusthub.idp import demo, mrz, world
from trusthub.idp.models import IdpAccount
from trusthub.idp.proving_service import questions_for

SEED = 2017
SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')


def post(w: IdpWorld, location: str, data: dict[str, str]) -> Any:
    page = w.client.get(location)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match
    return w.client.post(
        location, data={**data, "csrf_token": match.group(1)}, follow_redirects=False
    )


def prove(
    w: IdpWorld, username: str, person: Any, lines: tuple[str, str], right: int
) -> tuple[Any, str]:
    """Go from a service's request to the result page; returns it and the continue link."""
    metadata = discover(w)
    client = relying_party(w, metadata)
    verifier, nonce = generate_token(48), generate_token(20)
    url, _ = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, vtr='["Cl.Cm.P2"]'
    )
    to_sign_in = w.client.get(url, follow_redirects=False).headers["location"]
    handle = to_sign_in.rsplit("/", 1)[1]
    base = "/idp/post-office"
    address = person.addresses[-1]
    registered = post(w, f"{base}/register/{handle}", {
        "username": username, "password": "a long demo password", "given_name": person.given_name,
        "family_name": person.family_name, "birthdate": person.date_of_birth.isoformat(),
        "line1": address.line1, "town": address.town, "postcode": address.postcode,
    })  # fmt: skip
    assert registered.status_code == 303, registered.text
    codes = w.client.get(registered.headers["location"])
    secret = SECRET.search(codes.text)
    assert secret
    confirmed = post(w, registered.headers["location"], {"totp": pyotp.TOTP(secret[1]).now()})
    assert confirmed.headers["location"] == f"{base}/prove/{handle}"
    documents = post(
        w, confirmed.headers["location"], {"mrz_line1": lines[0], "mrz_line2": lines[1]}
    )
    assert documents.status_code == 303, documents.text
    with w.db() as db:
        account = db.scalar(select(IdpAccount).where(IdpAccount.username == username))
        asked = questions_for(db, account)
    answers = {q.id: (q.answer if i < right else "None of these") for i, q in enumerate(asked)}
    result = post(w, documents.headers["location"], answers)
    assert result.status_code == 200, result.text
    continue_href = re.search(r'id="continue" href="([^"]+)"', result.text)
    assert continue_href
    state = {"client": client, "metadata": metadata, "verifier": verifier, "nonce": nonce}
    w.totp[username] = secret[1]
    return (result, state), continue_href[1]


def test_a_citizen_proves_their_identity_with_a_passport_and_questions(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    seed_database(engine, 150, SEED)
    w = build(database_url, tmp_path / "keys")
    with w.client, w.db() as db:
        person = demo._people(db, 1)[0]
        lines = mrz.make_td3(
            person.family_name, person.given_name,
            world.passport_number(SEED, person.nhs_number), person.date_of_birth, "<",
            date(2031, 1, 1),
        )  # fmt: skip
        addresses = [a.postcode for a in person.addresses]
        db.expunge_all()
    with w.client:
        (result, state), continue_href = prove(w, "new.person", person, lines, right=99)
        assert "You have proven your identity" in result.text
        back = w.client.get(continue_href, follow_redirects=False)
        assert back.headers["location"].startswith(REDIRECT + "?code=")
        client, metadata = state["client"], state["metadata"]
        token = client.fetch_token(
            metadata["token_endpoint"],
            authorization_response=back.headers["location"],
            code_verifier=state["verifier"],
        )
        info = client.get(metadata["userinfo_endpoint"]).json()
    assert info["family_name"] == person.family_name
    assert info["birthdate"] == person.date_of_birth.isoformat()
    assert info["gpg45"]["evidence"] == [{"strength": 4, "validity": 3}]
    assert info["gpg45"]["level"] in ("P2", "P3")
    assert [a["postal_code"] for a in info["address_history"]] == addresses
    assert token["token_type"].lower() == "bearer"
    w.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_a_stolen_identity_is_not_proven(engine: Engine, database_url: str, tmp_path: Path) -> None:
    seed_database(engine, 150, SEED)
    w = build(database_url, tmp_path / "keys")
    with w.db() as db:
        demo.seed(db, w.settings)
        victim = demo._people(db, demo.READY + 1)[demo.READY]
        lines = mrz.make_td3(
            victim.family_name, victim.given_name,
            world.passport_number(SEED, victim.nhs_number), victim.date_of_birth, "<",
            date(2031, 1, 1),
        )  # fmt: skip
        db.expunge_all()
    with w.client:
        (result, _), continue_href = prove(w, "impostor", victim, lines, right=99)
        assert "There is a problem with this identity" in result.text
        back = w.client.get(continue_href, follow_redirects=False)
        assert "error=unmet_authentication_requirements" in back.headers["location"]
    w.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_wrong_answers_lower_what_is_proven(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    seed_database(engine, 150, SEED)
    w = build(database_url, tmp_path / "keys")
    with w.db() as db:
        person = demo._people(db, 2)[1]
        lines = mrz.make_td3(
            person.family_name, person.given_name, "123456789", person.date_of_birth, "<",
            date(2031, 1, 1),
        )  # fmt: skip
        db.expunge_all()
    with w.client:
        (result, _), continue_href = prove(w, "guesser", person, lines, right=0)
        assert "We could not prove your identity" in result.text
        back = w.client.get(continue_href, follow_redirects=False)
        assert "error=unmet_authentication_requirements" in back.headers["location"]
    w.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_a_passport_that_names_someone_else_is_refused(idp: IdpWorld) -> None:
    lines = mrz.make_td3(
        "BABBAGE", "CHARLES", "123456789", date(1985, 12, 10), "M", date(2031, 1, 1)
    )
    metadata = discover(idp)
    client = relying_party(idp, metadata)
    url, _ = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier="v" * 48, nonce="n" * 20,
        vtr='["Cl.Cm.P2"]',
    )  # fmt: skip
    location = idp.client.get(url, follow_redirects=False).headers["location"]
    handle = location.rsplit("/", 1)[1]
    code = pyotp.TOTP(idp.totp["bob"]).now()
    signed = post(
        idp, location, {"username": "bob", "password": "correct horse battery", "totp": code}
    )
    assert signed.headers["location"] == f"/idp/post-office/prove/{handle}"
    refused = post(idp, signed.headers["location"], {"mrz_line1": lines[0], "mrz_line2": lines[1]})
    assert refused.status_code == 422
    assert "surname is not the one you gave" in refused.text
    broken = post(
        idp,
        signed.headers["location"],
        {"mrz_line1": lines[0], "mrz_line2": lines[1][:-1] + str((int(lines[1][-1]) + 1) % 10)},
    )
    assert "Enter both lines exactly as printed" in broken.text


pytest_plugins = ["idp_world"]
