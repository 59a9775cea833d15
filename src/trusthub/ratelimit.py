"""One sliding-window limit for signing in: a pure rule, and an in-memory count of attempts.

``check`` is the rule: the times of earlier events that count (attempts, or failed attempts),
now, and a window in; a verdict out — no clock, no state. The identity providers count failed
sign-ins kept in their database (per account and per address); the hub counts every sign-in
attempt per address in memory with ``Limiter``. Keys are opaque strings the caller builds (e.g.
``"ip:203.0.113.7"`` or a hash), never personal data in clear.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Window:
    """At most ``limit`` counted events within any ``seconds`` long window."""

    limit: int
    seconds: float

    @property
    def span(self) -> timedelta:
        return timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class Verdict:
    """Whether one more attempt may go ahead now, and the counted times still in the window."""

    allowed: bool
    retry_after: int
    """Whole seconds until one more attempt is allowed; 0 when allowed now."""
    recent: tuple[float, ...]
    """The counted times inside the window at ``now``, oldest first."""


def check(counted: Iterable[float], now: float, window: Window) -> Verdict:
    """Whether one more attempt is allowed at ``now``, given the times of counted events."""
    recent = tuple(sorted(t for t in counted if now - window.seconds < t <= now))
    if len(recent) < window.limit:
        return Verdict(True, 0, recent)
    oldest_counting = recent[len(recent) - window.limit]
    wait = oldest_counting + window.seconds - now
    return Verdict(False, max(1, int(wait) + 1), recent)


class Limiter:
    """Every attempt counted per key, in memory, for one process; least recently used keys drop."""

    def __init__(self, window: Window, max_keys: int = 100_000) -> None:
        self.window = window
        self.max_keys = max_keys
        self._times: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, now: float) -> Verdict:
        """Count an attempt for ``key`` at ``now`` unless the key is over its limit."""
        with self._lock:
            verdict = check(self._times.get(key, ()), now, self.window)
            self._times[key] = (*verdict.recent, now) if verdict.allowed else verdict.recent
            self._times.move_to_end(key)
            while len(self._times) > self.max_keys:
                self._times.popitem(last=False)
            return verdict
