"""A real TrustHub served by uvicorn in a child process, for tests that need real HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from identity_world import World
from trusthub.migrations import upgrade

NODE_DIR = Path(__file__).parent / "node"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(
    workdir: Path, settings: Mapping[str, str], port: int | None = None
) -> Iterator[str]:
    """Serve the app with ``settings`` (TRUSTHUB_* variables); yield its URL once healthy."""
    port = port or free_port()
    command = [
        sys.executable, "-m", "uvicorn", "trusthub.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ]  # fmt: skip
    with serving(command, port, workdir, settings, "the app") as url:
        yield url


@contextmanager
def serving(
    command: list[str], port: int, workdir: Path, settings: Mapping[str, str], what: str
) -> Iterator[str]:
    """Run ``command`` (serving on ``port``) in ``workdir``; yield its URL once /healthz is up."""
    env = {**os.environ, "TRUSTHUB_LOG_LEVEL": "WARNING", **settings}
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        # cwd away from any developer .env; our own interpreter and arguments.
        server = subprocess.Popen(  # noqa: S603
            command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                pytest.fail(f"{what} exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not start within 30 s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextmanager
def live_hub(
    workdir: Path, build: Callable[[str, Path, str], World], *, providers: bool = False
) -> Iterator[World]:
    """A world built on a migrated SQLite file, then served by uvicorn with the same keys.

    ``build`` gets the database URL, the keys directory and the issuer; with ``providers`` the
    demo identity providers are served too, under /idp/{slug}.
    """
    database_url = f"sqlite:///{workdir / 'trusthub.db'}"
    upgrade(database_url)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    hub = build(database_url, workdir / "keys", issuer)
    hub.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    pairwise = hub.settings.identity_pairwise_key
    assert pairwise is not None
    settings = {
        "TRUSTHUB_DATABASE_URL": database_url,
        "TRUSTHUB_PUBLIC_URL": issuer,
        "TRUSTHUB_IDENTITY_SIGNING_KEYS": str(hub.settings.identity_signing_keys),
        "TRUSTHUB_IDENTITY_PAIRWISE_KEY": pairwise.get_secret_value(),
        "TRUSTHUB_IDENTITY_KEYS_DIR": str(workdir / "keys"),
    }
    if providers:
        settings["TRUSTHUB_IDP_ENABLED"] = "true"
        settings["TRUSTHUB_IDP_KEYS_DIR"] = str(workdir / "keys" / "idp")
    with live_server(workdir, settings, port=port):
        yield hub


def node_with_openid_client() -> str:
    """Node, with openid-client (npm) installed in tests/node; skips when node is missing."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("TRUSTHUB_REQUIRE_NODE"):
            pytest.fail("node is not installed but TRUSTHUB_REQUIRE_NODE is set")
        pytest.skip("node is not installed")
    if not (NODE_DIR / "node_modules" / "openid-client").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed to fetch openid-client")
        subprocess.run(  # noqa: S603 - fixed arguments
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return node
