"""A sliding-window limit on failed sign-ins — pure: past failures and now in, a verdict out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Limit:
    """At most ``failures`` failed attempts within any ``window``."""

    failures: int
    window: timedelta


PER_ACCOUNT = Limit(5, timedelta(minutes=15))
"""Guessing one account's password: five tries per quarter hour (NIST SP 800-63B §5.2.2 asks
for at most 100 consecutive failures; this is far stricter)."""
PER_CLIENT = Limit(20, timedelta(minutes=15))
"""Spraying many accounts from one address."""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int
    """Seconds until one more attempt is allowed; 0 when allowed now."""


def check(failures: Iterable[datetime], now: datetime, limit: Limit) -> Verdict:
    """Whether one more attempt is allowed, given the times of earlier failures."""
    recent = sorted(t for t in failures if now - limit.window < t <= now)
    if len(recent) < limit.failures:
        return Verdict(True, 0)
    oldest_counting = recent[len(recent) - limit.failures]
    wait = oldest_counting + limit.window - now
    return Verdict(False, max(1, int(wait.total_seconds()) + 1))
