"""One writer server per ledger database, shared by every app process that appends to it."""

from __future__ import annotations

import asyncio
import fcntl
import marshal
import multiprocessing
import os
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.synchronize import Event

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import StaticPool

from ledger_support import ORIGIN, decision
from trusthub.config import Settings
from trusthub.db import make_engine
from trusthub.ledger import store
from trusthub.ledger.commitments import CommitmentKey
from trusthub.ledger.note import Signer
from trusthub.ledger.prepare import prepare
from trusthub.ledger.runtime import writer_mode
from trusthub.ledger.turns import lock_path
from trusthub.ledger.verify import verify
from trusthub.ledger.writer import GroupCommitWriter, LedgerUnavailable
from trusthub.ledger.writer_client import SharedWriter, server_stats
from trusthub.ledger.writer_server import (
    frame,
    hello,
    private_directory,
    recv_frame,
    send_frame,
    take_frames,
)
from trusthub.schema import metadata

GRACE = 1.0  # servers of finished tests leave soon
KEY = CommitmentKey(b"\x05" * 32)


def _signer(seed: bytes) -> Signer:
    return Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(seed))


def _writer(engine: Engine, seed: bytes) -> GroupCommitWriter:
    writer = GroupCommitWriter(engine, _signer(seed), ORIGIN, mode="shared", shared_grace=GRACE)
    writer.start()
    return writer


def _shared(writer: GroupCommitWriter) -> SharedWriter:
    assert writer._shared is not None
    return writer._shared


def _wait_until(condition: object, what: str) -> None:
    """Wait for a state (never asserting how long it took); give up only if it never comes."""
    deadline = time.monotonic() + 120
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


@contextmanager
def writers_held(engine: Engine) -> Iterator[None]:
    """Hold what every committing writer must take first: the turn (SQLite), the head row (PG)."""
    path = lock_path(engine)
    if path is not None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    with engine.connect() as connection, connection.begin() as transaction:
        store.lock_head(connection)
        yield
        transaction.rollback()


def _check(url: str, seed: bytes, size: int) -> None:
    report = verify(url, ORIGIN, [_signer(seed).verifier], workers=1)
    assert report.ok, report.findings
    assert report.leaves == size == report.tree_size


def _app_process(
    url: str,
    seed: bytes,
    citizens: list[int],
    events: tuple[Event, Event, Event],
    out: multiprocessing.Queue[tuple[list[int], int, int | None]],
) -> None:
    """A worker process of the app: one entry sent first (then says so), then a burst at once."""
    ready, go, sent = events
    engine = make_engine(url)
    writer = _writer(engine, seed)
    ready.set()
    try:
        go.wait()
        batch, _ = writer.submit(prepare(decision(citizens[0]), KEY))
        _wait_until(lambda: _shared(writer).sent >= 1, "the first entry sent")
        sent.set()
        assert batch.done.wait(120) and batch.error is None
        indices = [batch.first]

        async def burst() -> list[int]:
            async def one(citizen: int) -> int:
                return (await writer.append_async(prepare(decision(citizen), KEY), 120)).index

            return list(await asyncio.gather(*(one(c) for c in citizens[1:])))

        indices += asyncio.run(burst())
        out.put((indices, _shared(writer).sent, _shared(writer).server_pid))
    finally:
        writer.stop()
        engine.dispose()


def test_app_processes_share_one_server_whose_commits_merge_their_batches(
    database_url: str, engine: Engine
) -> None:
    """While the server's first commit waits for the writers' lock, batches of three processes
    arrive; at most two commits can hold those three batches, so one holds two processes'."""
    seed = os.urandom(32)
    writer = _writer(engine, seed)
    context = multiprocessing.get_context("spawn")
    go, out = context.Event(), context.Queue()
    ready, sent = [context.Event() for _ in range(2)], [context.Event() for _ in range(2)]
    apps = [
        context.Process(
            target=_app_process,
            args=(
                database_url,
                seed,
                [*range(n * 1000, n * 1000 + 150)],
                (ready[n], go, sent[n]),
                out,
            ),
        )
        for n in range(2)
    ]
    for app in apps:
        app.start()
    try:
        for event in ready:  # connected: a server answers no greeting while it commits
            assert event.wait(120)
        with writers_held(engine):
            mine, _ = writer.submit(prepare(decision(1), KEY))
            _wait_until(lambda: _shared(writer).sent >= 1, "this process's entry sent")
            go.set()
            for event in sent:
                assert event.wait(120)
        results = [out.get(timeout=120) for _ in apps]
        assert mine.done.wait(120) and mine.error is None
    finally:
        for app in apps:
            app.join(120)
        paths = _shared(writer).paths
        stats = server_stats(paths)
        writer.stop()
    assert all(app.exitcode == 0 for app in apps)
    indices = [mine.first] + [i for got, _, _ in results for i in got]
    assert sorted(indices) == list(range(301))  # each index taken exactly once, none skipped
    assert {pid for _, _, pid in results} == {_shared_pid(stats)}
    assert stats is not None
    batches = 1 + sum(count for _, count, _ in results)
    assert stats["batches"] == batches and stats["entries"] == 301
    assert stats["commits"] < batches and stats["merged"] >= 1
    _check(database_url, seed, 301)


def _shared_pid(stats: dict[str, int] | None) -> int:
    assert stats is not None
    return stats["pid"]


def test_a_killed_server_fails_its_batch_and_the_next_append_starts_another(
    database_url: str, engine: Engine
) -> None:
    seed = os.urandom(32)
    writer = _writer(engine, seed)
    try:
        for citizen in range(5):
            assert writer.append(prepare(decision(citizen), KEY), 60).index == citizen
        first_pid = _shared(writer).server_pid
        assert first_pid is not None
        with writers_held(engine):  # the server is mid-batch: sent, not committed
            before = _shared(writer).sent

            async def in_flight() -> list[BaseException | int]:
                async def one(citizen: int) -> int:
                    return (await writer.append_async(prepare(decision(citizen), KEY), 60)).index

                tasks = [asyncio.create_task(one(c)) for c in range(10, 13)]
                await asyncio.to_thread(_wait_until, lambda: _shared(writer).sent > before, "sent")
                os.kill(first_pid, signal.SIGKILL)
                return list(await asyncio.gather(*tasks, return_exceptions=True))

            outcomes = asyncio.run(in_flight())
        assert all(isinstance(o, LedgerUnavailable) for o in outcomes), outcomes
        later = writer.append(prepare(decision(99), KEY), 60)
        second_pid = _shared(writer).server_pid
    finally:
        writer.stop()
    assert second_pid not in (None, first_pid)
    assert (later.index, later.tree_size) == (5, 6)  # nothing of the killed batch was written
    _check(database_url, seed, 6)


def test_clients_starting_at_once_get_one_server(database_url: str, engine: Engine) -> None:
    seed = os.urandom(32)
    count = 4
    barrier = threading.Barrier(count)
    writers: list[GroupCommitWriter] = []
    indices: list[int] = []
    guard = threading.Lock()

    def client() -> None:
        barrier.wait()
        writer = _writer(engine, seed)
        index = writer.append(prepare(decision(len(writers)), KEY), 60).index
        with guard:
            writers.append(writer)
            indices.append(index)

    threads = [threading.Thread(target=client) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        assert len(writers) == count
        pids = {_shared(w).server_pid for w in writers}
        assert len(pids) == 1 and None not in pids
        started = [p for w in writers for p in _shared(w)._started]
        for process in started:
            if process.pid not in pids:
                assert process.wait(60) == 0  # lost the lock: left at once, quietly
        stats = server_stats(_shared(writers[0]).paths)
        assert stats is not None and stats["clients"] == count + 1  # the stats line included
    finally:
        for writer in writers:
            writer.stop()
    assert sorted(indices) == list(range(count))
    _check(database_url, seed, count)


def test_a_stale_socket_is_no_obstacle_and_an_idle_server_leaves_without_one(
    database_url: str, engine: Engine
) -> None:
    seed = os.urandom(32)
    paths = SharedWriter(
        engine.url.render_as_string(hide_password=False), _signer(seed), ORIGIN
    ).paths
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(paths.socket)  # a server that died without cleaning up
    stale.close()
    assert stat.S_ISSOCK(os.stat(paths.socket).st_mode)
    writer = _writer(engine, seed)
    try:
        assert writer.append(prepare(decision(1), KEY), 60).index == 0
        (server,) = _shared(writer)._started
    finally:
        writer.stop()
    assert server.wait(120) == 0  # its last client gone, nobody came back in the grace period
    assert not os.path.exists(paths.socket)
    writer = _writer(engine, seed)  # and a later client simply starts another
    try:
        assert writer.append(prepare(decision(2), KEY), 60).index == 1
    finally:
        writer.stop()
    _check(database_url, seed, 2)


def test_a_client_of_another_ledger_or_key_is_refused(engine: Engine) -> None:
    seed = os.urandom(32)
    writer = _writer(engine, seed)
    try:
        paths = _shared(writer).paths
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(30)
            sock.connect(paths.socket)
            send_frame(sock, hello("0" * 64, "append"))
            assert marshal.loads(recv_frame(sock))[0] == "refused"  # noqa: S302 - ours
        assert writer.append(prepare(decision(1), KEY), 60).index == 0
    finally:
        writer.stop()


def test_the_socket_directory_must_be_ours_alone() -> None:
    base = tempfile.mkdtemp(prefix="th-")  # short: socket paths are limited to ~100 bytes
    try:
        directory = private_directory(base)
        assert directory.startswith(base)
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        os.chmod(directory, 0o755)  # noqa: S103 - the very thing refused
        with pytest.raises(PermissionError):
            private_directory(base)
        with pytest.raises(ValueError, match="too long"):
            private_directory(os.path.join(base, "x" * 100))
    finally:
        shutil.rmtree(base)


@given(
    st.lists(st.binary(max_size=300), max_size=8),
    st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=20),
)
def test_frames_come_out_whole_however_the_bytes_are_cut(
    payloads: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(frame(p) for p in payloads)
    buffer, got, at = bytearray(), [], 0
    for size in cuts * (len(stream) // max(1, sum(cuts)) + 2):
        buffer += stream[at : at + size]
        at += size
        got += take_frames(buffer)
    assert got == payloads and not buffer


@pytest.mark.parametrize(
    ("writer", "process", "expected"),
    [
        (None, False, "thread"),
        (None, True, "process"),
        ("shared", False, "shared"),
        ("thread", True, "thread"),  # the newer setting wins over the older flag
    ],
)
def test_the_writer_mode_setting_and_the_older_flag(
    writer: str | None, process: bool, expected: str
) -> None:
    settings = Settings(ledger_writer=writer, ledger_writer_process=process)
    assert writer_mode(settings) == expected


def test_an_in_memory_ledger_keeps_its_writer_thread() -> None:
    """No other process can open it, so no server could write it."""
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    metadata.create_all(engine)
    writer = GroupCommitWriter(engine, _signer(os.urandom(32)), ORIGIN, mode="shared")
    writer.start()
    try:
        assert writer.mode == "thread" and writer._shared is None
        assert writer.append(prepare(decision(1), KEY), 60).index == 0
    finally:
        writer.stop()
        engine.dispose()
