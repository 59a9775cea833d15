"""Worker processes for bulk hashing: lean ones, started for the job and then closed.

``multiprocessing``'s spawned workers first re-import the parent's main module: under the
``trusthub`` command that is the whole application, about two CPU-seconds per worker before any
hashing. These run ``python -m trusthub.ledger.bulk_workers``, which imports only the task
tables it is named (modules with a ``TASKS`` dict: a bulk entry's records, an extract's
pseudonyms). Tasks and results go over a pair of pipes as ``marshal`` bytes, one task in flight
per worker, fed from one queue in the order they were submitted, from any thread: so one bulk
job's several kinds of work share one process per core instead of each starting its own. The
commitment and pseudonym keys go to our own children over those pipes only, as the writer
process's signing key does. A worker that fails makes its tasks raise ``WorkerError``.
"""

from __future__ import annotations

import importlib
import marshal
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future
from multiprocessing.connection import Connection
from typing import Any

STOP_TIMEOUT = 30.0
RECORDS = "trusthub.ledger.bulk_records"
"""The task table of a bulk entry's records, which every pool of workers can run."""

_Task = tuple[str, tuple[Any, ...], "Future[Any]"]


class WorkerError(RuntimeError):
    """A worker process failed a task or went away."""


class _Worker:
    __slots__ = ("process", "results", "tasks")

    def __init__(self, tables: Sequence[str]) -> None:
        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own module, our interpreter
                [sys.executable, "-m", __name__, str(task_read), str(result_write), *tables],
                pass_fds=(task_read, result_write),
                stdin=subprocess.DEVNULL,
                env=environment,
            )
        finally:
            os.close(task_read)
            os.close(result_write)
        self.tasks = Connection(task_write, readable=False)
        self.results = Connection(result_read, writable=False)

    def stop(self) -> None:
        """End the process: it reads the end of its input and exits, or is killed."""
        self.tasks.close()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Workers:
    """``count`` worker processes running the tasks of ``tables``; ``submit`` queues one task
    and ``map`` runs one over columns of arguments, from any thread."""

    def __init__(self, count: int, tables: Sequence[str] = (RECORDS,)) -> None:
        self._queue: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._workers: list[_Worker] = []
        self._feeders: list[threading.Thread] = []
        try:
            for _ in range(count):
                self._workers.append(_Worker(tables))
        except BaseException:
            self.close()
            raise
        for worker in self._workers:
            feeder = threading.Thread(
                target=self._feed, args=(worker,), name="bulk-worker-feed", daemon=True
            )
            feeder.start()
            self._feeders.append(feeder)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Cancel what has not started, let each worker finish its task, and end them."""
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                break
            if task is not None:
                task[2].cancel()
        for _ in self._feeders:
            self._queue.put(None)
        for feeder in self._feeders:
            feeder.join(STOP_TIMEOUT)
        # A worker still busy after that is stopped, which ends its feeder's wait for it.
        for worker in self._workers:
            worker.stop()
        for feeder in self._feeders:
            feeder.join()
        for worker in self._workers:
            worker.results.close()
        self._workers, self._feeders = [], []

    def __len__(self) -> int:
        return len(self._workers)

    def submit(self, task: str, *arguments: Any) -> Future[Any]:
        """One task, queued behind those submitted before it."""
        future: Future[Any] = Future()
        self._queue.put((task, arguments, future))
        return future

    def map(self, task: str, *columns: Sequence[Any]) -> list[Any]:
        """The task over each row of ``columns``, results in order, each worker kept busy."""
        futures = [self.submit(task, *row) for row in zip(*columns, strict=True)]
        try:
            return [future.result() for future in futures]
        except CancelledError as error:
            raise WorkerError("the bulk workers were closed") from error
        finally:
            for future in futures:
                future.cancel()

    def _feed(self, worker: _Worker) -> None:
        """One thread per worker: send it the next task, wait for its answer, and so on. Once
        the worker has gone away, its thread fails the tasks it takes, so none waits forever."""
        gone: BaseException | None = None
        while (task := self._queue.get()) is not None:
            name, arguments, future = task
            if not future.set_running_or_notify_cancel():
                continue
            if gone is None:
                try:
                    worker.tasks.send_bytes(marshal.dumps((name, arguments)))
                    status, value = marshal.loads(worker.results.recv_bytes())  # noqa: S302
                except (EOFError, OSError) as error:
                    gone = error
                else:
                    if status == "ok":
                        future.set_result(value)
                    else:
                        future.set_exception(WorkerError(f"a bulk worker failed: {value}"))
                    continue
            failure = WorkerError("a bulk worker went away")
            failure.__cause__ = gone
            future.set_exception(failure)


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


def tasks(tables: Sequence[str]) -> dict[str, Callable[..., Any]]:
    """The tasks of the named modules' ``TASKS`` tables, together."""
    table: dict[str, Callable[..., Any]] = {}
    for name in tables:
        table.update(importlib.import_module(name).TASKS)
    return table


if __name__ == "__main__":
    serve(
        Connection(int(sys.argv[1]), writable=False),
        Connection(int(sys.argv[2]), readable=False),
        tasks(sys.argv[3:]),
    )
