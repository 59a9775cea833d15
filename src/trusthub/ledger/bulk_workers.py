"""Worker processes for a bulk entry's records: lean ones, started for the job and then closed.

``multiprocessing``'s spawned workers first re-import the parent's main module: under the
``trusthub`` command that is the whole application, about two CPU-seconds per worker before any
hashing. These run ``python -m trusthub.ledger.bulk_workers``, which imports only what the work
needs. Tasks and results go over a pair of pipes as ``marshal`` bytes, one task in flight per
worker; the commitment key goes to our own children over those pipes only, as the writer
process's signing key does. A worker that fails makes ``map`` raise ``WorkerError``.
"""

from __future__ import annotations

import marshal
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

STOP_TIMEOUT = 30.0


class WorkerError(RuntimeError):
    """A worker process failed a task or went away."""


class _Worker:
    __slots__ = ("process", "results", "tasks")

    def __init__(self) -> None:
        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own module, our interpreter
                [sys.executable, "-m", __name__, str(task_read), str(result_write)],
                pass_fds=(task_read, result_write),
                stdin=subprocess.DEVNULL,
                env=environment,
            )
        finally:
            os.close(task_read)
            os.close(result_write)
        self.tasks = Connection(task_write, readable=False)
        self.results = Connection(result_read, writable=False)

    def close(self) -> None:
        self.tasks.close()  # the worker reads the end of its input and exits
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.results.close()


class Workers:
    """``count`` worker processes; ``map`` runs one of ``TASKS`` over columns of arguments."""

    def __init__(self, count: int) -> None:
        self._workers: list[_Worker] = []
        try:
            for _ in range(count):
                self._workers.append(_Worker())
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._workers:
            worker.close()
        self._workers = []

    def map(self, task: str, *columns: Sequence[Any]) -> list[Any]:
        """The task over each row of ``columns``, results in order, each worker kept busy."""
        calls = list(zip(*columns, strict=True))
        results: list[Any] = [None] * len(calls)
        running: dict[Connection, tuple[_Worker, int]] = {}
        following = iter(range(len(calls)))
        for worker in self._workers:
            self._give(worker, task, calls, following, running)
        while running:
            for ready in wait(list(running)):
                assert isinstance(ready, Connection)
                worker, number = running.pop(ready)
                try:
                    status, value = marshal.loads(ready.recv_bytes())  # noqa: S302 - our child
                except (EOFError, OSError) as gone:
                    raise WorkerError("a bulk records worker went away") from gone
                if status != "ok":
                    raise WorkerError(f"a bulk records worker failed: {value}")
                results[number] = value
                self._give(worker, task, calls, following, running)
        return results

    @staticmethod
    def _give(
        worker: _Worker,
        task: str,
        calls: list[tuple[Any, ...]],
        following: Any,
        running: dict[Connection, tuple[_Worker, int]],
    ) -> None:
        number = next(following, None)
        if number is None:
            return
        try:
            worker.tasks.send_bytes(marshal.dumps((task, calls[number])))
        except OSError as gone:
            raise WorkerError("a bulk records worker went away") from gone
        running[worker.results] = (worker, number)


def serve(tasks: Connection, results: Connection, table: dict[str, Callable[..., Any]]) -> None:
    """A worker's loop: one task in, one result out, until the parent closes the pipe (or
    goes away: then the worker simply ends)."""
    # Ctrl-C reaches the whole process group: the parent decides, and closes our pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            name, arguments = marshal.loads(tasks.recv_bytes())  # noqa: S302 - our parent
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", table[name](*arguments))
        except Exception as error:
            reply = ("error", type(error).__name__)
        try:
            results.send_bytes(marshal.dumps(reply))
        except OSError:
            return


if __name__ == "__main__":
    from trusthub.ledger.bulk_records import TASKS

    serve(
        Connection(int(sys.argv[1]), writable=False),
        Connection(int(sys.argv[2]), readable=False),
        TASKS,
    )
