"""The exchange's online path against a bare endpoint: what the trust layer costs per request.

Goal (issue "the exchange online"): one-record requests through the whole trust layer — token
check, agreement and consent lookups, the pure policy decision, minimisation and a durable
ledger write before the answer — at no more than 2x the cost of a bare FastAPI endpoint that
reads the same record from the same database with neither policy nor ledger.

Measured in one run, each under uvicorn over real HTTP on loopback, at 1 and 2 workers:

- bare: ``POST /exchange/v1/records`` that parses the same JSON body and reads the record.
- TrustHub: the real app, with a machine token obtained once per measurement (private_key_jwt).

Load comes from ``wrk`` (C, one thread, a Lua script for the POST bodies and the bearer header;
``apt-get install wrk``) so the client does not dominate a small machine; its own CPU time is
reported beside the server's. After the two-worker TrustHub run, a burst of concurrent requests
checks that two processes' ledger writers lose and duplicate no index, and at the end the whole
ledger is verified as ``trusthub ledger verify`` does.

The ledger writer (``TRUSTHUB_LEDGER_WRITER``) is ``--writer``: by default what ``trusthub serve``
picks, the writer thread at one worker and the writer server shared by all workers at more.

    .venv/bin/python benchmarks/bench_exchange_online.py [--duration 20] [--connections 16]
        [--citizens 5000] [--postgres-url URL] [--writer auto|thread|process|shared]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from joserfc import jwt
from joserfc.jwk import ECKey, Key
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.engine import make_url

from trusthub.db import make_engine, make_session_factory, transaction
from trusthub.identity.models import Citizen
from trusthub.identity.oidc.keys import new_jwks
from trusthub.identity.service import register_machine_client
from trusthub.ledger.keys import signer_from_text
from trusthub.ledger.verify import verify
from trusthub.migrations import upgrade
from trusthub.registry.agreement_rules import EventKind, Party
from trusthub.registry.agreement_schemas import AgreementAction, AgreementTerms
from trusthub.registry.models import Agreement, DatasetRecord, OrganisationKind
from trusthub.registry.schemas import DatasetCreate, FieldCreate, OrganisationCreate
from trusthub.registry.service import (
    act_on_agreement,
    create_dataset,
    create_organisation,
    draft_agreement,
)

GOAL_RATIO = 2.0
ORIGIN = "bench.trusthub.example/ledger"
FIELDS = ("nino", "nhs_number", "pay_band")
PURPOSE = "public_service_delivery"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
HERE = Path(__file__).resolve().parent


# --- the world: HMRC's PAYE records for DWP under one active agreement ---------------------------


def nhs_numbers(count: int) -> list[str]:
    """Valid (modulus 11) NHS numbers, deterministic."""
    found: list[str] = []
    base = 900_000_000
    while len(found) < count:
        digits = f"{base:09d}"
        base += 1
        check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(digits)) % 11
        if check == 10:
            continue
        found.append(digits + str(0 if check == 11 else check))
    return found


@dataclass
class World:
    url: str
    reference: str
    dataset_id: int
    machine_id: str
    machine_key: Key
    nhs: list[str]
    env: dict[str, str]


def seed(url: str, citizens: int, workdir: Path) -> World:
    upgrade(url)
    engine = make_engine(url)
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, private=True)
    key.ensure_kid()
    numbers = nhs_numbers(citizens)
    with transaction(make_session_factory(engine)) as session:
        for slug, kind in (
            ("hmrc", OrganisationKind.GOVERNMENT_DEPARTMENT),
            ("dwp", OrganisationKind.GOVERNMENT_DEPARTMENT),
        ):
            create_organisation(
                session,
                OrganisationCreate(
                    slug=slug, name=slug.upper(), kind=kind,
                    dpo_name="D P O", dpo_email=f"dpo@{slug}.example",
                ),
            )  # fmt: skip
        create_dataset(
            session,
            "hmrc",
            DatasetCreate(
                slug="paye",
                title="PAYE",
                record_key="nino",
                fields=[
                    FieldCreate(name="nino", classification="direct_identifier"),
                    FieldCreate(name="nhs_number", classification="direct_identifier"),
                    FieldCreate(name="pay_band", classification="quasi_identifier"),
                    FieldCreate(name="employer", classification="sensitive"),
                ],
            ),
        )
        people = [
            Citizen(
                nhs_number=nhs,
                given_name="Given",
                family_name="Family",
                date_of_birth=date(1980, 1, 1),
            )
            for nhs in numbers
        ]
        session.add_all(people)
        session.flush()
        reference = draft_agreement(
            session,
            AgreementTerms.model_validate(
                {
                    "provider": "hmrc",
                    "recipient": "dwp",
                    "dataset": "paye",
                    "fields": list(FIELDS),
                    "purpose": "Check earnings when assessing a benefit claim.",
                    "purpose_category": PURPOSE,
                    "lawful_basis": "public_task",
                    "legal_gateway": "Digital Economy Act 2017 s.35",
                    "data_form": "identifiable",
                    "retention_days": 365,
                    "starts_on": "2026-01-01",
                    "ends_on": "2099-12-31",
                    "contacts": [{"role": "DPO", "name": "D P O", "email": "dpo@hmrc.example"}],
                }
            ),
            "D P O",
        ).reference
        for party in (Party.PROVIDER, Party.RECIPIENT):
            act_on_agreement(
                session, reference, EventKind.APPROVED, AgreementAction(party=party, actor="D P O")
            )
        dataset_id = session.scalar(
            select(Agreement.dataset_id).where(Agreement.reference == reference)
        )
        assert dataset_id is not None
        session.add_all(
            DatasetRecord(
                dataset_id=dataset_id,
                citizen_id=person.id,
                local_id=f"paye-{n}",
                data={
                    "nino": f"AB{n % 1_000_000:06d}C",
                    "nhs_number": person.nhs_number,
                    "pay_band": "C",
                    "employer": "Acme",
                },
            )
            for n, person in enumerate(people)
        )
        machine_id = register_machine_client(session, "dwp", {"keys": [key.as_dict(private=False)]})
    engine.dispose()
    keys = workdir / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    (keys / "signing.jwks.json").write_text(json.dumps(new_jwks()))
    env = {
        "TRUSTHUB_DATABASE_URL": url,
        "TRUSTHUB_LOG_LEVEL": "WARNING",
        "TRUSTHUB_IDENTITY_SIGNING_KEYS": str(keys / "signing.jwks.json"),
        "TRUSTHUB_IDENTITY_PAIRWISE_KEY": secrets.token_urlsafe(32),
        "TRUSTHUB_IDENTITY_KEYS_DIR": str(keys),
        "TRUSTHUB_LEDGER_ORIGIN": ORIGIN,
        "TRUSTHUB_LEDGER_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "TRUSTHUB_LEDGER_COMMITMENT_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "TRUSTHUB_LEDGER_KEY_DIR": str(keys),
        "TRUSTHUB_EXCHANGE_PSEUDONYM_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "TRUSTHUB_EXCHANGE_KEYS_DIR": str(keys),
        "BENCH_DATASET_ID": str(dataset_id),
    }
    return World(url, reference, dataset_id, machine_id, key, numbers, env)


# --- the bare endpoint: the same body, the same record, nothing else -----------------------------


class BareAsk(BaseModel):
    agreement: str
    purpose_category: str
    subject: dict[str, str]


def create_bare_app() -> FastAPI:
    """What answering costs with neither token, policy nor ledger (uvicorn --factory)."""
    engine = make_engine(os.environ["TRUSTHUB_DATABASE_URL"])
    sessions = make_session_factory(engine)
    dataset_id = int(os.environ["BENCH_DATASET_ID"])
    app = FastAPI()

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.post("/exchange/v1/records")
    def records(body: BareAsk) -> dict[str, Any]:
        with sessions() as session:
            data = session.scalar(
                select(DatasetRecord.data)
                .join(Citizen, Citizen.id == DatasetRecord.citizen_id)
                .where(Citizen.nhs_number == body.subject.get("nhs_number"))
                .where(DatasetRecord.dataset_id == dataset_id)
                .limit(1)
            )
        if data is None:
            return {"agreement": body.agreement, "record": None}
        return {"agreement": body.agreement, "record": {f: data.get(f) for f in FIELDS}}

    return app


# --- servers, tokens and load --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tree_cpu(pid: int) -> float:
    """utime + stime of a process and all its descendants still running, from /proc."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _tree_cpu(int(child))
    except FileNotFoundError:
        pass
    return total


@dataclass
class Server:
    base: str
    pid: int


@contextmanager
def serve(target: str, workers: int, env: dict[str, str], log: Path) -> Iterator[Server]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, **env, "TRUSTHUB_PUBLIC_URL": base}
    command = [
        sys.executable, "-m", "uvicorn", target, "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
        "--log-level", "warning", "--workers", str(workers), "--app-dir", str(HERE),
    ]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, env=full_env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"uvicorn did not start; its log ends:\n{tail}")
            time.sleep(0.2)
        if workers > 1:
            time.sleep(2.0)  # let every worker finish its start-up before load arrives
        yield Server(base, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def token(world: World, base: str) -> str:
    now = int(time.time())
    claims = {
        "iss": world.machine_id,
        "sub": world.machine_id,
        "aud": base + "/oauth2/token",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    assertion = jwt.encode(
        {"alg": "ES256", "kid": world.machine_key.kid}, claims, world.machine_key
    )
    answer = httpx.post(
        base + "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "scope": "exchange",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )
    answer.raise_for_status()
    access: str = answer.json()["access_token"]
    return access


LUA = """
local nhs = {%(nhs)s}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(auth)s
request = function()
  i = i %% #nhs + 1
  return wrk.format(nil, "/exchange/v1/records", nil,
    '{"agreement":"%(agreement)s","purpose_category":"%(purpose)s",' ..
    '"subject":{"nhs_number":"' .. nhs[i] .. '"}}')
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Row:
    name: str
    backend: str
    workers: int
    writer: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    server_cpu: float
    client_cpu: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def per_cpu_second(self) -> float:
        return self.requests / self.server_cpu if self.server_cpu else 0.0


def wrk(
    server: Server, world: World, bearer: str | None, seconds: float, connections: int, lua: Path
) -> tuple[int, float, int, float, float, float]:
    """Run wrk; returns requests, seconds, errors, p50 ms, p99 ms and wrk's own CPU seconds."""
    auth = f'wrk.headers["Authorization"] = "Bearer {bearer}"' if bearer else ""
    lua.write_text(
        LUA
        % {
            "nhs": ",".join(f'"{n}"' for n in world.nhs),
            "auth": auth,
            "agreement": world.reference,
            "purpose": PURPOSE,
        }
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [
            "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--timeout", "30s", "-s", str(lua), server.base,
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    requests, micros, errors, p50, p99 = (int(x) for x in line.split()[1:])
    client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return requests, micros / 1e6, errors, p50 / 1000, p99 / 1000, client_cpu


def writer_mode(choice: str, workers: int) -> str:
    """``auto`` is what ``trusthub serve`` picks: one writer server shared by several workers."""
    if choice != "auto":
        return choice
    return "shared" if workers > 1 else "thread"


def measure(
    name: str,
    backend: str,
    target: str,
    workers: int,
    world: World,
    args: argparse.Namespace,
    workdir: Path,
    after_load: Any = None,
) -> Row:
    log = workdir / "uvicorn.log"
    writer = writer_mode(args.writer, workers) if target.startswith("trusthub") else "—"
    env = {**world.env, "TRUSTHUB_LEDGER_WRITER": writer} if writer != "—" else world.env
    with serve(target, workers, env, log) as server:
        bearer = token(world, server.base) if target.startswith("trusthub") else None
        lua = workdir / "load.lua"
        wrk(server, world, bearer, args.warmup, args.connections, lua)
        cpu_before = _tree_cpu(server.pid)
        requests, seconds, errors, p50, p99, client = wrk(
            server, world, bearer, args.duration, args.connections, lua
        )
        server_cpu = _tree_cpu(server.pid) - cpu_before
        if requests == 0 or errors:
            tail = log.read_text(errors="replace").splitlines()[-20:]
            print(f"{name} ({workers} workers): {requests} answers, {errors} errors; log tail:")
            print("\n".join(tail), file=sys.stderr)
        if after_load is not None:
            after_load(server, bearer)
    return Row(
        name, backend, workers, writer, requests, seconds, errors, p50, p99, server_cpu, client
    )


# --- ledger correctness with two processes writing -----------------------------------------------


def _tree_size(base: str) -> int:
    note = httpx.get(base + "/ledger/v1/checkpoint").text
    return int(note.splitlines()[1])


def _settled_tree_size(base: str) -> int:
    """The tree size once the load generator's last requests have landed on the ledger."""
    size = _tree_size(base)
    while True:
        time.sleep(0.5)
        later = _tree_size(base)
        if later == size:
            return size
        size = later


def check_two_writers(server: Server, bearer: str, world: World, count: int) -> str:
    """A burst of concurrent requests: every answer has its own index, none lost or repeated."""
    before = _settled_tree_size(server.base)

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=server.base, limits=limits, timeout=60) as client:

            async def one(n: int) -> int:
                answer = await client.post(
                    "/exchange/v1/records",
                    json={
                        "agreement": world.reference,
                        "purpose_category": PURPOSE,
                        "subject": {"nhs_number": world.nhs[n % len(world.nhs)]},
                    },
                    headers={"Authorization": f"Bearer {bearer}"},
                )
                answer.raise_for_status()
                index: int = answer.json()["ledger"]["index"]
                return index

            return await asyncio.gather(*(one(n) for n in range(count)))

    indices = asyncio.run(burst())
    after = _tree_size(server.base)
    if sorted(indices) != list(range(before, before + count)) or after != before + count:
        raise RuntimeError(
            f"two writers lost or repeated indices: {count} answers, tree {before}->{after}, "
            f"{len(set(indices))} distinct indices"
        )
    return (
        f"{count} concurrent answers over 2 workers took indices {before}..{after - 1}, each once"
    )


def verify_ledger(world: World) -> str:
    signer = signer_from_text(world.env["TRUSTHUB_LEDGER_SIGNING_KEY"], ORIGIN)
    report = verify(world.url, ORIGIN, [signer.verifier])
    if not report.ok:
        raise RuntimeError(f"the ledger does not verify: {report.findings[:5]}")
    return (
        f"ledger verifies: {report.leaves:,} entries, {report.checkpoints:,} checkpoints, "
        f"tree size {report.tree_size:,}"
    )


# --- report --------------------------------------------------------------------------------------


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
        "| endpoint | database | workers | ledger writer | requests | req/s | p50 ms | p99 ms "
        "| errors | server CPU s | req per server CPU-s | wrk CPU s |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.backend} | {r.workers} | {r.writer} | {r.requests:,} | "
            f"{r.per_second:,.0f} | "
            f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} | {r.server_cpu:.1f} | "
            f"{r.per_cpu_second:,.0f} | {r.client_cpu:.1f} |"
        )
    return "\n".join(lines)


def _ratios(rows: list[Row]) -> str:
    lines = [
        "| database | workers | ledger writer | throughput ratio (bare ÷ TrustHub) | p50 ratio | "
        "CPU per request ratio | goal | |",
        "|---|---:|---|---:|---:|---:|---|---|",
    ]
    for bare in (r for r in rows if r.name == "bare"):
        trust = next(
            r
            for r in rows
            if r.name == "TrustHub" and r.backend == bare.backend and r.workers == bare.workers
        )
        if not (trust.requests and bare.requests):
            lines.append(
                f"| {bare.backend} | {bare.workers} | {trust.writer} | no answers: see above "
                "| | | | |"
            )
            continue
        ratio = bare.per_second / trust.per_second if trust.per_second else float("inf")
        p50 = trust.p50_ms / bare.p50_ms if bare.p50_ms else float("inf")
        cpu = bare.per_cpu_second / trust.per_cpu_second if trust.per_cpu_second else float("inf")
        verdict = "met" if ratio <= GOAL_RATIO else "MISSED"
        lines.append(
            f"| {bare.backend} | {bare.workers} | {trust.writer} | {ratio:.2f}x | {p50:.2f}x | "
            f"{cpu:.2f}x | "
            f"≤ {GOAL_RATIO:.0f}x | {verdict} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up load")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--citizens", type=int, default=5000)
    parser.add_argument("--burst", type=int, default=500, help="requests in the two-writer check")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts to measure")
    parser.add_argument("--postgres-url", default=None, help="also run on this PostgreSQL")
    parser.add_argument(
        "--writer",
        choices=("auto", "thread", "process", "shared"),
        default="auto",
        help="TRUSTHUB_LEDGER_WRITER for TrustHub (auto: shared at more than one worker)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    worker_counts = [int(w) for w in args.workers.split(",")]

    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-exchange-") as tmp:
        workdir = Path(tmp)
        backends = [("SQLite", f"sqlite:///{workdir / 'exchange.db'}")]
        if args.postgres_url:
            backends.append(
                ("PostgreSQL", _postgres_database(args.postgres_url, "trusthub_bench_exchange"))
            )
        for backend, url in backends:
            world = seed(url, args.citizens, workdir / backend)
            for workers in worker_counts:
                rows.append(
                    measure(
                        "bare",
                        backend,
                        "bench_exchange_online:create_bare_app",
                        workers,
                        world,
                        args,
                        workdir,
                    )
                )

                def check(
                    server: Server,
                    bearer: str,
                    w: int = workers,
                    b: str = backend,
                    at: World = world,
                ) -> None:
                    if w > 1:
                        notes.append(f"{b}: " + check_two_writers(server, bearer, at, args.burst))

                rows.append(
                    measure(
                        "TrustHub",
                        backend,
                        "trusthub.app:create_app",
                        workers,
                        world,
                        args,
                        workdir,
                        after_load=check,
                    )
                )
            notes.append(f"{backend}: " + verify_ledger(world))

    print(
        "\n## Exchange online: trust layer vs bare endpoint — "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
    )
    print(
        f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end. "
        f"wrk: 1 thread, {args.connections} connections, {args.duration:.0f} s per row after "
        f"{args.warmup:.0f} s warm-up; {args.citizens:,} citizens, requests cycle through them.\n"
    )
    print(_table(rows))
    print()
    print(_ratios(rows))
    print()
    for note in notes:
        print(f"- {note}")
    print(
        "\nServer CPU = user + system seconds of uvicorn and all its workers during the "
        "measurement; wrk CPU is the load generator's own. Every TrustHub request is "
        "permitted and written to the ledger (SQLite: synchronous=FULL, one fsync per group "
        "commit) before it is answered."
    )


if __name__ == "__main__":
    main()
