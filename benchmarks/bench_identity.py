"""Client-credential grants with private_key_jwt, per second per core, beside Authlib's bare issue.

Goal (issue "identity hub"): >= 1,000 grants/s per core with the client looked up in the database
and assertion replay protection on (each jti stored once). "Per core" is grants per CPU-second of
the process that serves them, so the figure holds on a shared machine; wall-clock rates are shown
beside it. Measured in one run:

- Authlib bare: Authlib's AuthorizationServer with an in-memory client, client_secret_basic and
  its default opaque tokens — the floor of the protocol library itself.
- Authlib + JOSE: the hub's grants (private_key_jwt, RFC 9068 JWT access tokens) with the client
  and the jti store in memory — what the signatures cost.
- TrustHub action layer: the token endpoint's action in one database transaction, no HTTP.
- TrustHub ASGI: the whole app (middleware, routing, worker thread), driven in-process.
- TrustHub HTTP: the app under uvicorn (one worker), driven over loopback by httpx.

With --postgres-url the database rows run on PostgreSQL as well.

Goal: >= 150 complete authorization-code flows per second per core through the broker. Each flow
goes over HTTP to one uvicorn process serving the hub and the demo identity providers, every
redirect followed by hand: RP -> hub /oauth2/authorize -> choose a provider -> provider
authorize -> sign-in with password and TOTP (answered with the provider's code) -> hub callback
(the broker redeems the provider's code and reads its UserInfo, over HTTP, and answers with the
hub's code) -> hub token (the release recorded on the ledger first) -> UserInfo. Password
hashing is reported on its own: the Argon2id verify alone, the flows less one verify each, and
flows whose browser already holds a provider session (no password asked; the hub session is
dropped between flows).

    .venv/bin/python benchmarks/bench_identity.py [--grants 3000] [--flows 300] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import platform
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp
from authlib.oauth2.rfc6749 import AuthorizationServer, grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from joserfc import jwt
from joserfc.jwk import ECKey, Key
from sqlalchemy.engine import make_url
from starlette.datastructures import Headers

from trusthub.app import create_app
from trusthub.config import Settings
from trusthub.db import make_engine, make_session_factory, transaction
from trusthub.identity.oidc import flows
from trusthub.identity.oidc.clients import ClientRecord, load_client
from trusthub.identity.oidc.grants import PrivateKeyJWT
from trusthub.identity.oidc.keys import new_jwks
from trusthub.identity.oidc.provider import Provider, get_provider
from trusthub.identity.oidc.schemas import RelyingPartyCreate
from trusthub.identity.oidc.server import HubRequest, HubServer
from trusthub.identity.schemas import AddressIn, CitizenCreate
from trusthub.identity.service import (
    register_citizen,
    register_machine_client,
    register_relying_party,
)
from trusthub.idp import credentials
from trusthub.idp import service as idp_service
from trusthub.migrations import upgrade
from trusthub.registry.models import OrganisationKind
from trusthub.registry.schemas import OrganisationCreate
from trusthub.registry.service import create_organisation

GOAL_GRANTS_PER_CORE = 1000.0
GOAL_FLOWS_PER_CORE = 150.0
ISSUER = "https://hub.bench"
FORM = Headers({"content-type": "application/x-www-form-urlencoded"})
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
NHS = "9434765919"


@dataclass
class Row:
    name: str
    backend: str
    count: int
    wall: float
    cpu: float
    goal: float | None
    unit: str = "grants"

    @property
    def per_wall(self) -> float:
        return self.count / self.wall

    @property
    def per_core(self) -> float:
        return self.count / self.cpu


@dataclass
class Setup:
    settings: Settings
    provider: Provider
    machine_id: str
    machine_key: Key
    rp_id: str
    rp_key: Key


def _key() -> Key:
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, private=True)
    key.ensure_kid()
    return key


def _seed(database_url: str, workdir: Path, issuer: str) -> Setup:
    keys = workdir / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    (keys / "signing.jwks.json").write_text(json.dumps(new_jwks()))
    settings = Settings(
        database_url=database_url,
        public_url=issuer,
        log_level="WARNING",
        identity_signing_keys=str(keys / "signing.jwks.json"),
        identity_pairwise_key=secrets.token_urlsafe(32),
        identity_keys_dir=keys,
    )
    machine_key, rp_key = _key(), _key()
    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as session:
        create_organisation(
            session,
            OrganisationCreate(
                slug="dwp",
                name="Department for Work and Pensions",
                kind=OrganisationKind.GOVERNMENT_DEPARTMENT,
                dpo_name="D P O",
                dpo_email="dpo@dwp.example",
            ),
        )
        register_citizen(
            session,
            CitizenCreate(
                nhs_number=NHS,
                given_name="Ada",
                family_name="Lovelace",
                date_of_birth=datetime(1985, 12, 10, tzinfo=UTC).date(),
                address=AddressIn(
                    line1="1 Ockham Road",
                    town="London",
                    postcode="SW1A 2AA",
                    moved_in=datetime(2015, 4, 1, tzinfo=UTC).date(),
                ),
            ),
        )
        machine_id = register_machine_client(
            session, "dwp", {"keys": [machine_key.as_dict(private=False)]}
        )
        rp = register_relying_party(
            session,
            RelyingPartyCreate(
                name="Universal Credit",
                organisation="dwp",
                redirect_uris=["https://rp.example/callback"],
                sector_identifier="rp.example",
                jwks={"keys": [rp_key.as_dict(private=False)]},
                scopes=["openid", "profile"],
            ),
        )
    engine.dispose()
    return Setup(settings, get_provider(settings), machine_id, machine_key, rp.client_id, rp_key)


def _assertion(key: Key, client_id: str, audience: str) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])


def _grant_bodies(setup: Setup, count: int) -> list[str]:
    """Fresh assertions made before timing: making them is the client's cost, not the hub's."""
    audience = setup.provider.token_endpoint
    return [
        urlencode(
            {
                "grant_type": "client_credentials",
                "scope": "exchange",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": _assertion(setup.machine_key, setup.machine_id, audience),
            }
        )
        for _ in range(count)
    ]


def _oauth_request(issuer: str, body: str, headers: Headers = FORM) -> HubRequest:
    pairs = [(k, v[0]) for k, v in parse_qs(body, keep_blank_values=True).items()]
    return HubRequest("POST", issuer + "/oauth2/token", headers, [], pairs)


def _timed(run: Callable[[], None]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


# --- baselines ------------------------------------------------------------------------------


class _BareClient:
    client_id = "bare"
    client_secret = "bare-secret"  # noqa: S105 - a benchmark's in-memory client

    def get_client_id(self) -> str:
        return self.client_id

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or "exchange"

    def check_client_secret(self, secret: str) -> bool:
        return secrets.compare_digest(secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class _BareServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib as its documentation sets it up: in-memory client, opaque bearer tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.client = _BareClient()
        self.register_grant(grants.ClientCredentialsGrant)
        self.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: secrets.token_urlsafe(32))
        )

    def query_client(self, client_id: str) -> _BareClient | None:
        return self.client if client_id == self.client.client_id else None

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        return None

    def create_oauth2_request(self, request: Any) -> Any:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any]:
        return status, body

    def send_signal(self, *args: Any, **kwargs: Any) -> None:
        return None


def bench_authlib_bare(count: int) -> Row:
    server = _BareServer()
    basic = "Basic " + base64.b64encode(b"bare:bare-secret").decode()
    headers = Headers({"content-type": "application/x-www-form-urlencoded", "authorization": basic})
    body = "grant_type=client_credentials&scope=exchange"

    def run() -> None:
        for _ in range(count):
            status, _token = server.create_token_response(_oauth_request(ISSUER, body, headers))
            assert status == 200

    wall, cpu = _timed(run)
    return Row("Authlib bare (basic auth, opaque token, in memory)", "—", count, wall, cpu, None)


class _MemoryJTI(PrivateKeyJWT):
    def __init__(self, server: HubServer) -> None:
        super().__init__(server)
        self.seen: set[str] = set()

    def validate_jti(self, claims: Any, jti: str) -> bool:
        if jti in self.seen:
            return False
        self.seen.add(jti)
        return True


class _NoDatabase:
    """Stands in for a session where nothing touches the database."""

    def get_bind(self) -> Any:
        return SimpleNamespace(dialect=SimpleNamespace(name="memory"))


def bench_authlib_jose(setup: Setup, count: int, client: ClientRecord) -> Row:
    """The hub's grant and token classes with the client and the jti store in memory."""
    bodies = _grant_bodies(setup, count)

    class _MemoryServer(HubServer):
        def query_client(self, client_id: str) -> ClientRecord | None:
            return client if client_id == client.client_id else None

    def run() -> None:
        for body in bodies:
            server = _MemoryServer(setup.provider, _NoDatabase())  # type: ignore[arg-type]
            server.register_client_auth_method("private_key_jwt", _MemoryJTI(server))
            answer = server.create_token_response(_oauth_request(setup.provider.issuer, body))
            assert answer.status_code == 200, answer.body

    wall, cpu = _timed(run)
    return Row(
        "Authlib + JOSE (private_key_jwt, JWT token, in memory)", "—", count, wall, cpu, None
    )


# --- TrustHub -------------------------------------------------------------------------------


def bench_action(setup: Setup, count: int, backend: str) -> Row:
    engine = make_engine(setup.settings.database_url)
    factory = make_session_factory(engine)
    bodies = _grant_bodies(setup, count)
    issuer = setup.provider.issuer

    def run() -> None:
        for body in bodies:
            with transaction(factory) as session:
                answer = flows.token(session, setup.provider, _oauth_request(issuer, body))
            assert answer.status_code == 200, answer.body

    wall, cpu = _timed(run)
    engine.dispose()
    return Row(
        "TrustHub action layer (DB client + jti store)",
        backend,
        count,
        wall,
        cpu,
        GOAL_GRANTS_PER_CORE,
    )


async def _asgi_call(
    app: Any, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Call the ASGI app directly — no HTTP client in the measurement."""
    path, _, query = target.partition("?")
    raw_headers = [(b"host", b"hub.bench")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if body:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("hub.bench", 443),
        "state": {},
    }
    incoming = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    status, answer_headers, chunks = 0, dict[str, str](), list[bytes]()

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                key, text = name.decode().lower(), value.decode()
                if key == "set-cookie" and key in answer_headers:
                    text = answer_headers[key] + "\n" + text
                answer_headers[key] = text
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, answer_headers, b"".join(chunks)


async def _in_batches(jobs: list[Callable[[], Awaitable[None]]], concurrency: int) -> None:
    for start in range(0, len(jobs), concurrency):
        await asyncio.gather(*(job() for job in jobs[start : start + concurrency]))


def bench_asgi(setup: Setup, count: int, backend: str, concurrency: int) -> Row:
    app = create_app(setup.settings)
    bodies = [b.encode() for b in _grant_bodies(setup, count)]
    form = {"content-type": "application/x-www-form-urlencoded"}

    def job(body: bytes) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            status, _, answer = await _asgi_call(app, "POST", "/oauth2/token", body, form)
            assert status == 200, answer

        return call

    wall, cpu = _timed(lambda: asyncio.run(_in_batches([job(b) for b in bodies], concurrency)))
    app.state.engine.dispose()
    return Row(
        f"TrustHub ASGI, in process ({concurrency} at a time)",
        backend,
        count,
        wall,
        cpu,
        GOAL_GRANTS_PER_CORE,
    )


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _post_forms(port: int, path: str, forms: list[dict[str, str]], connections: int) -> None:
    """A lean load generator: pre-encoded HTTP/1.1 requests on kept-alive sockets.

    A Python HTTP client spends more CPU per request than the server being measured, so it
    cannot saturate it on a two-core machine; writing bytes and reading Content-Length can.
    """
    requests = [
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}"
        ).encode()
        for body in (urlencode(form) for form in forms)
    ]
    queue = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in queue:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = head.split(b" ", 2)[1]
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
                body = await reader.readexactly(length)
                if status != b"200":
                    raise RuntimeError(f"HTTP {status.decode()}: {body[:200]!r}")
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))


@contextmanager
def _serving(settings: Settings, workdir: Path, name: str, **env: str) -> Iterator[tuple[int, int]]:
    """The app under uvicorn (one worker) at http://127.0.0.1:port; yields (port, pid)."""
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    pairwise = settings.identity_pairwise_key
    assert pairwise is not None
    environ = {
        **os.environ,
        "TRUSTHUB_DATABASE_URL": settings.database_url,
        "TRUSTHUB_PUBLIC_URL": issuer,
        "TRUSTHUB_LOG_LEVEL": "WARNING",
        "TRUSTHUB_IDENTITY_SIGNING_KEYS": str(settings.identity_signing_keys),
        "TRUSTHUB_IDENTITY_PAIRWISE_KEY": pairwise.get_secret_value(),
        "TRUSTHUB_IDENTITY_KEYS_DIR": str(settings.identity_keys_dir),
        **env,
    }
    log = (workdir / f"uvicorn-{name}.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "trusthub.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--timeout-keep-alive",
            "120",
            "--workers",
            "1",
        ],
        cwd=workdir,
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{issuer}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("uvicorn did not start; see " + log.name)
            time.sleep(0.1)
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def bench_http(setup: Setup, count: int, backend: str, concurrency: int, workdir: Path) -> Row:
    with _serving(setup.settings, workdir, backend) as (port, pid):
        audience = f"http://127.0.0.1:{port}/oauth2/token"
        warm = [
            {
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": _assertion(setup.machine_key, setup.machine_id, audience),
            }
            for _ in range(200)
        ]
        bodies = [
            {
                "grant_type": "client_credentials",
                "scope": "exchange",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": _assertion(setup.machine_key, setup.machine_id, audience),
            }
            for _ in range(count)
        ]

        def drive(forms: list[dict[str, str]]) -> None:
            asyncio.run(_post_forms(port, "/oauth2/token", forms, concurrency))

        drive(warm)
        cpu_before, wall_before = _cpu_seconds(pid), time.perf_counter()
        drive(bodies)
        wall = time.perf_counter() - wall_before
        cpu = _cpu_seconds(pid) - cpu_before
    return Row(
        f"TrustHub HTTP, uvicorn 1 worker ({concurrency} connections)",
        backend,
        count,
        wall,
        cpu,
        GOAL_GRANTS_PER_CORE,
    )


# --- complete authorization-code flows through the broker and a demo identity provider -----

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PROVIDER = "post-office"
IDP_PASSWORD = "correct horse battery staple"  # noqa: S105 - a benchmark's synthetic account
PROVEN_M1B = {
    "profile": "M1B",
    "evidence": [{"strength": 3, "validity": 2}],
    "activity": 1,
    "fraud": 2,
    "verification": 2,
}
"""What the provider's proving pages would have recorded: GPG 45 M1B, confidence P2."""
FLOW_CONCURRENCY = 8


@dataclass(frozen=True)
class Account:
    username: str
    totp_secret: str


def _seed_accounts(database_url: str, tag: str, count: int) -> list[Account]:
    """Proven Ada accounts at the provider, one per full sign-in: a TOTP code counts once."""
    engine = make_engine(database_url)
    made = [Account(f"ada-{tag}-{i}", pyotp.random_base32()) for i in range(count)]
    with transaction(make_session_factory(engine)) as db:
        for account in made:
            row = idp_service.create_account(
                db,
                PROVIDER,
                account.username,
                IDP_PASSWORD,
                given_name="Ada",
                family_name="Lovelace",
                birthdate=date(1985, 12, 10),
                totp_secret=account.totp_secret,
            )
            row.confidence, row.gpg45 = 2, PROVEN_M1B
    engine.dispose()
    return made


def _csrf(page: httpx.Response) -> str:
    match = CSRF.search(page.text)
    assert page.status_code == 200 and match, page.text[:300]
    return match.group(1)


def _expect(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    return str(answer.headers["location"])


async def _sign_in_at_provider(http: httpx.AsyncClient, url: str, account: Account) -> str:
    """The provider's authorize → sign-in page → password and TOTP, answered with the redirect
    back to the hub."""
    answer = await http.get(url)
    if answer.status_code == 302:  # a provider session already signed in: straight back
        return str(answer.headers["location"])
    sign_in = _expect(answer, 303)
    form = {
        "username": account.username,
        "password": IDP_PASSWORD,
        "totp": pyotp.TOTP(account.totp_secret).now(),
        "csrf_token": _csrf(await http.get(sign_in)),
    }
    return _expect(await http.post(sign_in, data=form), 302)


async def broker_flow(http: httpx.AsyncClient, setup: Setup, account: Account) -> None:
    """RP → hub authorize → choose provider → provider sign-in → hub callback → code → token →
    UserInfo: every redirect followed by hand, as a browser and the service would."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": setup.rp_id,
        "redirect_uri": "https://rp.example/callback",
        "scope": "openid profile",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        "vtr": '["Cl.Cm.P2"]',
    }
    chooser = _expect(await http.get("/oauth2/authorize", params=params), 303)
    page = await http.get(chooser)
    form = {"provider": PROVIDER, "csrf_token": _csrf(page)}
    outbound = _expect(await http.post(chooser + "/provider", data=form), 303)
    callback = await _sign_in_at_provider(http, outbound, account)
    back = _expect(await http.get(callback), 302)  # the callback answers the service
    code = parse_qs(urlsplit(back).query)["code"][0]
    audience = str(http.base_url).rstrip("/") + "/oauth2/token"
    token_form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "https://rp.example/callback",
        "code_verifier": verifier,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _assertion(setup.rp_key, setup.rp_id, audience),
    }
    tokens = await http.post("/oauth2/token", data=token_form)
    assert tokens.status_code == 200, tokens.text
    bearer = {"authorization": f"Bearer {tokens.json()['access_token']}"}
    info = await http.get("/oauth2/userinfo", headers=bearer)
    assert info.status_code == 200 and info.json()["given_name"] == "Ada", info.text


def _browser(issuer: str, number: int) -> httpx.AsyncClient:
    """One citizen's browser, from an address of its own (the sign-in limit is per address)."""
    address = f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
    return httpx.AsyncClient(
        base_url=issuer, follow_redirects=False, headers={"x-forwarded-for": address}
    )


def _forget_hub_session(http: httpx.AsyncClient) -> None:
    """Keep the provider's session cookie, drop the hub's: the next flow goes to the provider."""
    for cookie in list(http.cookies.jar):
        if not cookie.name.startswith(("idp_", "__Host-idp_")):
            http.cookies.delete(cookie.name, cookie.domain, cookie.path)


async def _flows(
    issuer: str, setup: Setup, accounts: list[Account], rounds: int, pid: int
) -> tuple[int, float, float]:
    """``rounds`` flows per account, 8 browsers at a time; returns (flows, wall, server CPU).

    The first round of each browser signs in with password and TOTP; later rounds reuse its
    provider session. Only the measured rounds are timed: the first when rounds is 1, else the
    later ones.
    """
    browsers = [_browser(issuer, i) for i in range(len(accounts))]
    done, wall, cpu = 0, 0.0, 0.0
    try:
        for round_number in range(rounds):
            measured = rounds == 1 or round_number > 0
            cpu_before, wall_before = _cpu_seconds(pid), time.perf_counter()
            for start in range(0, len(accounts), FLOW_CONCURRENCY):
                batch = range(start, min(start + FLOW_CONCURRENCY, len(accounts)))
                await asyncio.gather(*(broker_flow(browsers[i], setup, accounts[i]) for i in batch))
            if measured:
                wall += time.perf_counter() - wall_before
                cpu += _cpu_seconds(pid) - cpu_before
                done += len(accounts)
            for browser in browsers:
                _forget_hub_session(browser)
    finally:
        for browser in browsers:
            await browser.aclose()
    return done, wall, cpu


def bench_argon2(count: int = 30) -> Row:
    """One password check at the provider, alone: Argon2id as the provider configures it."""
    stored = credentials.hash_password(IDP_PASSWORD)

    def run() -> None:
        for _ in range(count):
            assert credentials.check_password(stored, IDP_PASSWORD)

    wall, cpu = _timed(run)
    return Row("Argon2id verify alone (provider's setting)", "—", count, wall, cpu, None, "checks")


def bench_broker_flows(
    setup: Setup, count: int, backend: str, workdir: Path, argon2: Row
) -> list[Row]:
    """Complete flows over HTTP, served by one uvicorn process (hub, broker and provider)."""
    fresh = _seed_accounts(setup.settings.database_url, f"{backend}-fresh", count)
    warm = _seed_accounts(setup.settings.database_url, f"{backend}-warm", 1)
    sessions = _seed_accounts(setup.settings.database_url, f"{backend}-session", max(1, count // 4))
    env = {
        "TRUSTHUB_IDP_ENABLED": "true",
        "TRUSTHUB_IDP_KEYS_DIR": str(workdir / "idp-keys"),
    }
    with _serving(setup.settings, workdir, f"flows-{backend}", **env) as (port, pid):
        issuer = f"http://127.0.0.1:{port}"
        asyncio.run(_flows(issuer, setup, warm, 1, pid))  # discovery, keys, first imports
        n_full, wall_full, cpu_full = asyncio.run(_flows(issuer, setup, fresh, 1, pid))
        n_sso, wall_sso, cpu_sso = asyncio.run(_flows(issuer, setup, sessions, 5, pid))
    hashing = n_full * argon2.cpu / argon2.count
    return [
        Row(
            "Broker flows over HTTP, sign-in with password + TOTP",
            backend, n_full, wall_full, cpu_full, GOAL_FLOWS_PER_CORE, "flows",
        ),
        Row(
            "  the same, less one Argon2id verify per flow (computed)",
            backend, n_full, wall_full, max(cpu_full - hashing, 1e-9), GOAL_FLOWS_PER_CORE,
            "flows",
        ),
        Row(
            "Broker flows over HTTP, provider session already signed in",
            backend, n_sso, wall_sso, cpu_sso, GOAL_FLOWS_PER_CORE, "flows",
        ),
    ]  # fmt: skip


# --- the run --------------------------------------------------------------------------------


def _postgres_database(base: str, name: str) -> str:
    admin = make_engine(str(make_url(base).set(database="postgres")))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def _table(rows: list[Row]) -> str:
    lines = [
        "| measurement | database | n | wall s | per s (wall) | per CPU-second | goal | |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        goal = f"≥ {row.goal:,.0f} {row.unit}/s/core" if row.goal else "baseline"
        verdict = "" if row.goal is None else ("met" if row.per_core >= row.goal else "MISSED")
        lines.append(
            f"| {row.name} | {row.backend} | {row.count:,} | {row.wall:.2f} | "
            f"{row.per_wall:,.0f} | {row.per_core:,.0f} | {goal} | {verdict} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grants", type=int, default=3000, help="grants per measurement")
    parser.add_argument(
        "--flows", type=int, default=300, help="complete broker flows per measurement (0: none)"
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--postgres-url", default=None, help="also run on this PostgreSQL")
    args = parser.parse_args()

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-identity-") as tmp:
        workdir = Path(tmp)
        backends = [("SQLite", f"sqlite:///{workdir / 'identity.db'}")]
        if args.postgres_url:
            backends.append(
                ("PostgreSQL", _postgres_database(args.postgres_url, "trusthub_bench_identity"))
            )
        rows.append(bench_authlib_bare(args.grants))
        argon2 = bench_argon2()
        rows.append(argon2)
        for backend, url in backends:
            upgrade(url)
            setup = _seed(url, workdir / backend, ISSUER)
            if not any(r.name.startswith("Authlib + JOSE") for r in rows):
                engine = make_engine(url)
                with make_session_factory(engine)() as session:
                    client = load_client(session, setup.machine_id)
                engine.dispose()
                assert client is not None
                rows.append(bench_authlib_jose(setup, args.grants, client))
            rows.append(bench_action(setup, args.grants, backend))
            rows.append(bench_asgi(setup, args.grants, backend, args.concurrency))
            rows.append(bench_http(setup, args.grants, backend, args.concurrency, workdir))
            if args.flows:
                rows.extend(bench_broker_flows(setup, args.flows, backend, workdir, argon2))

    print(
        f"\n## Identity: client credentials with private_key_jwt — "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
    )
    print(
        f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end.\n"
    )
    print(_table(rows))
    print(
        "\nPer CPU-second = grants ÷ CPU seconds of the serving process (user + system), so "
        "'per core' holds on a shared machine. On SQLite the used jti is committed without "
        "an fsync (WAL, synchronous=NORMAL; see docs/identity.md); the ledger keeps FULL."
    )


if __name__ == "__main__":
    main()
