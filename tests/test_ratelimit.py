"""The sign-in limit: failures counted at the identity providers, attempts counted at the hub."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.ratelimit import Limiter, Window, check

NOW = 1_000_000.0
TEN_MINUTES = Window(3, 10 * 60)


def ago(*minutes: float) -> list[float]:
    return [NOW - m * 60 for m in minutes]


@pytest.mark.parametrize(
    ("counted", "allowed", "retry_after"),
    [
        ([], True, 0),
        (ago(1, 2), True, 0),
        (ago(1, 2, 3), False, 7 * 60 + 1),
        (ago(3, 1, 2), False, 7 * 60 + 1),  # in any order
        (ago(1, 2, 9.5), False, 31),
        (ago(1, 2, 10), True, 0),  # the window is open at its far end
        (ago(1, 2, 11, 12, 13), True, 0),
        (ago(0, 0, 0, 0), False, 10 * 60 + 1),
        (ago(1, 2, 3, 4), False, 7 * 60 + 1),  # the third newest decides when one more may go
        ([NOW + 60, *ago(1, 2)], True, 0),  # a time ahead of now does not count
    ],
)
def test_failures_in_a_sliding_window(
    counted: list[float], allowed: bool, retry_after: int
) -> None:
    verdict = check(counted, NOW, TEN_MINUTES)
    assert (verdict.allowed, verdict.retry_after) == (allowed, retry_after)


@pytest.mark.parametrize(
    ("moments", "allowed"),
    [
        ((10.0,), (True,)),
        ((1.0, 2.0, 3.0, 10.0), (True, True, True, False)),
        ((1.0, 2.0, 3.0, 10.0, 61.5), (True, True, True, False, True)),  # refused, not counted
        ((1.0, 2.0, 3.0, 61.5, 62.0, 62.5), (True, True, True, True, True, False)),
        ((1.0, 2.0, 3.0, 70.0, 70.0, 70.0, 70.0), (True, True, True, True, True, True, False)),
    ],
)
def test_attempts_counted_in_memory(moments: tuple[float, ...], allowed: tuple[bool, ...]) -> None:
    limiter = Limiter(Window(limit=3, seconds=60))
    verdicts = [limiter.hit("ip:203.0.113.7", moment) for moment in moments]
    assert tuple(v.allowed for v in verdicts) == allowed
    assert limiter.hit("ip:198.51.100.1", moments[-1]).allowed  # another key has its own count


def test_the_least_recently_used_keys_drop_first() -> None:
    limiter = Limiter(Window(limit=1, seconds=60), max_keys=2)
    for key in ("a", "b", "c"):
        assert limiter.hit(key, 1.0).allowed
    assert limiter.hit("a", 2.0).allowed  # forgotten
    assert not limiter.hit("c", 2.0).allowed


@given(st.lists(st.floats(0, 30), max_size=12))
def test_never_more_than_the_limit_counts_in_a_window(minutes: list[float]) -> None:
    verdict = check(ago(*minutes), NOW, TEN_MINUTES)
    in_window = sum(1 for m in minutes if m < 10)
    assert verdict.allowed == (in_window < TEN_MINUTES.limit)
    assert (verdict.retry_after > 0) == (not verdict.allowed)


@given(st.lists(st.floats(0, 1000), max_size=40), st.floats(0, 1000))
def test_never_more_attempts_than_the_limit_go_ahead(times: list[float], now: float) -> None:
    limiter = Limiter(Window(limit=5, seconds=60))
    gone_ahead: list[float] = []
    for moment in sorted([*times, now]):
        if limiter.hit("k", moment).allowed:
            gone_ahead.append(moment)
        assert len([t for t in gone_ahead if moment - 60 < t <= moment]) <= 5
