"""The worker threads protocol steps run in, each inside one database transaction.

Authlib and the database calls are synchronous, so a step leaves the event loop for a worker
thread. One pool serves the hub, the broker's database steps and the demo providers (which
answer the broker's back-channel calls from here, never from the broker's trip threads, so the
two never wait on each other).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from trusthub.db import transaction

T = TypeVar("T")

PROTOCOL_THREADS = 4
"""Worker threads the protocol may use at once: enough to overlap database round trips, few
enough that threads do not fight over the GIL (measured: +45% grants per core against 16)."""

protocol_workers = ThreadPoolExecutor(PROTOCOL_THREADS, thread_name_prefix="trusthub-oidc")
"""One pool for every event loop (tests run several): a plain executor hop costs about a third
of the CPU of anyio's ``to_thread`` with a capacity limiter."""

machine_worker = ThreadPoolExecutor(1, thread_name_prefix="trusthub-machine")
"""Client-credential grants that cannot run on the event loop (``machine_grant``), e.g. with
client_secret_basic. They never wait for the disk, so a second thread would only fight the
first for the GIL."""


async def in_transaction(
    state: Any, action: Callable[..., T], *args: Any, workers: Executor = protocol_workers
) -> T:
    """Run ``action(db, *args)`` in a worker thread, committed whole or not at all.

    The worker runs in a copy of the caller's context, so log lines keep the request id.
    """
    factory = state.sessions

    def run() -> T:
        with transaction(factory) as db:
            return action(db, *args)

    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(workers, contextvars.copy_context().run, run)
