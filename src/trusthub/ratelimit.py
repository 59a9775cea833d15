"""One shared limiter for sign-in attempts: a sliding window per key, decided by a pure function.

``allow`` is the pure rule (past attempt times in, decision and kept times out); ``Limiter``
holds those times in memory per key, behind a lock, for one process. Keys are opaque strings the
caller builds (e.g. ``"ip:203.0.113.7"`` or ``"account:<hash>"``), never personal data in clear.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """At most ``limit`` attempts in any ``seconds`` long window."""

    limit: int
    seconds: float


@dataclass(frozen=True)
class Verdict:
    """Whether this attempt may go ahead, the times to keep, and when to try again if not."""

    allowed: bool
    kept: tuple[float, ...]
    retry_after: float


def allow(past: Sequence[float], now: float, window: Window) -> Verdict:
    """Decide one attempt at ``now`` given earlier attempt times: pure, no clock, no state."""
    kept = tuple(t for t in past if now - window.seconds < t <= now)
    if len(kept) >= window.limit:
        oldest = min(kept)
        return Verdict(False, kept, max(0.0, oldest + window.seconds - now))
    return Verdict(True, (*kept, now), 0.0)


class Limiter:
    """Sliding-window attempt counts per key, in memory; the least recently used keys drop first."""

    def __init__(self, window: Window, max_keys: int = 100_000) -> None:
        self.window = window
        self.max_keys = max_keys
        self._times: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, now: float) -> Verdict:
        """Count an attempt for ``key`` at ``now`` unless the key is over its limit."""
        with self._lock:
            verdict = allow(self._times.get(key, ()), now, self.window)
            self._times[key] = verdict.kept
            self._times.move_to_end(key)
            while len(self._times) > self.max_keys:
                self._times.popitem(last=False)
            return verdict

    def reset(self, key: str) -> None:
        with self._lock:
            self._times.pop(key, None)
