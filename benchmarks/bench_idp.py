"""Complete sign-ins at a demo identity provider, per second per core, beside bare Argon2.

Goal: >= 15 complete sign-ins per CPU-second — Keycloak's sizing figure for password logins
(Argon2) per vCPU — where a sign-in here is the whole code flow a relying party drives:
authorize (PKCE S256, vtr Cl.Cm), the sign-in form read, password (Argon2id) and TOTP checked
under both rate limits, the held request resumed, a code issued, and the code redeemed at the
token endpoint (client_secret_basic) for an ES256 ID token and access token. Each flow uses a
different account, as TOTP codes work once.

"Per core" counts the CPU time of this one process, which runs the app and the client both, so
the figure is conservative. Bare Argon2id verification (with the providers' parameters) is shown
as the floor that password hashing alone sets.

    .venv/bin/python benchmarks/bench_idp.py [--flows 300] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import platform
import re
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fastapi.testclient import TestClient  # noqa: E402

from trusthub.app import create_app  # noqa: E402
from trusthub.config import Settings  # noqa: E402
from trusthub.db import make_session_factory, transaction  # noqa: E402
from trusthub.idp import credentials, service  # noqa: E402
from trusthub.migrations import upgrade  # noqa: E402

GOAL = 15.0
IDP = "bank"
REDIRECT = "https://hub.example/identity/broker/callback"
PASSWORD = "a long benchmark password"  # noqa: S105 - a benchmark account's
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def timed(run: object, count: int) -> tuple[float, float]:
    """(per CPU-second, per wall-second) of ``count`` calls of ``run``."""
    cpu, wall = time.process_time(), time.perf_counter()
    for index in range(count):
        run(index)  # type: ignore[operator]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return count / cpu, count / wall


def bare_argon2(count: int) -> tuple[float, float]:
    stored = credentials.hash_password(PASSWORD)
    return timed(lambda _: credentials.check_password(stored, PASSWORD), count)


def flows(database_url: str, workdir: Path, count: int) -> tuple[float, float]:
    settings = Settings(
        database_url=database_url,
        public_url="https://idp.bench",
        log_level="WARNING",
        idp_keys_dir=workdir / "idp",
        identity_keys_dir=workdir / "identity",
        ledger_key_dir=workdir / "ledger",
        exchange_keys_dir=workdir / "keys",
    )
    app = create_app(settings)
    factory = make_session_factory(app.state.engine)
    secrets_by_user: dict[str, str] = {}
    run = secrets.token_hex(3)  # fresh usernames: a PostgreSQL database may be reused
    log(f"creating {count} accounts (Argon2id each)")
    with transaction(factory) as db:
        client = service.register_client(db, IDP, [REDIRECT], secret=True)
        for n in range(count):
            secret = pyotp.random_base32()
            service.create_account(db, IDP, f"u{run}-{n}", PASSWORD, totp_secret=secret)
            secrets_by_user[f"u{run}-{n}"] = secret
    base = f"/idp/{IDP}"
    auth = (client.client_id, client.client_secret or "")

    browser = TestClient(app, base_url="https://idp.bench")

    def one(n: int) -> None:
        browser.cookies.clear()  # a new person's browser
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        query = urlencode({
            "response_type": "code", "client_id": client.client_id, "redirect_uri": REDIRECT,
            "scope": "openid profile", "state": "s" * 16, "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge, "code_challenge_method": "S256", "vtr": '["Cl.Cm"]',
        })  # fmt: skip
        sign_in = browser.get(f"{base}/oauth2/authorize?{query}", follow_redirects=False)
        location = sign_in.headers["location"]
        token = CSRF.search(browser.get(location).text)
        assert token
        form = {"username": f"u{run}-{n}", "password": PASSWORD, "csrf_token": token[1],
                "totp": pyotp.TOTP(secrets_by_user[f"u{run}-{n}"]).now()}  # fmt: skip
        resumed = browser.post(location, data=form, follow_redirects=False)
        back = browser.get(resumed.headers["location"], follow_redirects=False)
        code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
        answer = browser.post(
            f"{base}/oauth2/token",
            data={"grant_type": "authorization_code", "code": code,
                  "redirect_uri": REDIRECT, "code_verifier": verifier},
            auth=auth,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text

    with browser:
        one_warm = min(count, 3)
        for n in range(one_warm):
            one(n)
        rate = timed(lambda n: one(n + one_warm), count - one_warm)
    app.state.engine.dispose()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flows", type=int, default=300)
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args()
    print(f"# bench_idp — {platform.python_version()}, {platform.machine()}, flows={args.flows}")
    per_cpu, per_wall = bare_argon2(max(20, args.flows // 5))
    print(f"Argon2id verify (bare)        {per_cpu:8.1f} /CPU-s  {per_wall:8.1f} /s")
    backends = [("sqlite", None), ("postgresql", args.postgres_url)]
    ok = True
    for name, url in backends:
        if name == "postgresql" and not url:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            database_url = url or f"sqlite:///{workdir / 'bench.db'}"
            upgrade(database_url)
            per_cpu, per_wall = flows(database_url, workdir, args.flows)
        met = per_cpu >= GOAL
        ok = ok and met
        verdict = "met" if met else "NOT met"
        print(f"sign-ins, {name:<10}          {per_cpu:8.1f} /CPU-s  {per_wall:8.1f} /s  "
              f"goal >= {GOAL:.0f}/CPU-s: {verdict}")  # fmt: skip
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
