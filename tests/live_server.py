"""A real TrustHub served by uvicorn in a child process, for tests that need real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


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
    env = {**os.environ, "TRUSTHUB_LOG_LEVEL": "WARNING", **settings}
    log_path = workdir / "server.log"
    command = [
        sys.executable, "-m", "uvicorn", "trusthub.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ]  # fmt: skip
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
                pytest.fail(f"the app exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not start within 30 s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
