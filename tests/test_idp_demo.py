"""The demo world's ready accounts: seeded at every provider, documented, and able to sign in."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from idp_world import REDIRECT, build, discover, relying_party, sign_in
from trusthub.cli import app as cli
from trusthub.db import make_session_factory, transaction
from trusthub.demo.service import seed_database
from trusthub.identity.broker.config import demo_client_id
from trusthub.idp import demo, dvla, mrz
from trusthub.idp.models import IdpAccount, IdpClient, IdpFraudMarker
from trusthub.idp.providers import BRANDS

SEED = 2017


def test_seeding_makes_ready_accounts_clients_and_a_fraud_marker(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    seed_database(engine, 120, SEED)
    world = build(database_url, tmp_path / "keys")
    with world.db() as db:
        counts = demo.seed(db, world.settings)
        again = demo.seed(db, world.settings)
    assert counts == {"clients": 3, "accounts": 9, "fraud_markers": 1}
    assert again == {"clients": 3, "accounts": 0, "fraud_markers": 0}
    with transaction(make_session_factory(engine)) as db:
        ready = demo.accounts(db, SEED)
        hub_clients = db.scalars(
            select(IdpClient.client_id).where(IdpClient.client_id.like(demo_client_id("%")))
        )
        assert sorted(hub_clients) == sorted(demo_client_id(s) for s in BRANDS)
        assert db.scalar(select(func.count()).select_from(IdpFraudMarker)) == 1
        stored = db.scalars(select(IdpAccount.password_hash).where(IdpAccount.idp == "bank"))
        assert all(h.startswith("$argon2id$") for h in stored)
    for account in ready:
        passport = mrz.parse_td3(*account.passport_mrz, today=date(2026, 11, 24))
        assert passport.birth_date == account.birthdate
        assert passport.surname == account.family_name.upper().replace("-", " ").replace("'", " ")
        if account.licence_number:
            checked = dvla.check(
                account.licence_number, account.family_name, account.given_name, account.birthdate
            )
            assert checked.matches_person
    with world.client:
        first = next(a for a in ready if a.idp == "post-office")
        world.totp[first.username] = first.totp_secret
        metadata = discover(world)
        client = relying_party(world, metadata)
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier="v" * 48, nonce="n" * 20,
            vtr='["Cl.Cm.P2"]',
        )  # fmt: skip
        answer = world.client.get(url, follow_redirects=False)
        signed = sign_in(world, answer.headers["location"], first.username, first.password)
        assert signed.status_code == 302, signed.text
        assert signed.headers["location"].startswith(REDIRECT + "?code=")
    world.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_demo_accounts_are_printed_for_newcomers(engine: Engine, database_url: str) -> None:
    seed_database(engine, 60, SEED)
    printed = CliRunner().invoke(cli, ["idp", "demo-accounts", "--database-url", database_url])
    assert printed.exit_code == 0, printed.output
    with make_session_factory(engine)() as db:
        ready = demo.accounts(db, SEED)
    assert len(ready) == 9
    for account in ready:
        assert account.password in printed.output
        assert account.passport_mrz[1] in printed.output
        assert pyotp.TOTP(account.totp_secret).now().isdigit()


def test_the_hub_is_registered_at_every_provider_when_the_app_starts(
    client: TestClient, engine: Engine
) -> None:
    with make_session_factory(engine)() as db:
        found = db.scalars(select(IdpClient).where(IdpClient.client_id.like(demo_client_id("%"))))
        clients = {c.client_id: c for c in found}
    assert sorted(clients) == sorted(demo_client_id(s) for s in BRANDS)
    hub = clients[demo_client_id("bank")]
    assert hub.redirect_uris == ["http://127.0.0.1:8000/identity/broker/callback"]
    assert hub.jwks_uri == "http://127.0.0.1:8000/identity/broker/jwks"
    assert hub.token_endpoint_auth_method == "private_key_jwt"
