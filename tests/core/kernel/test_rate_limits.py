"""Rate limits in memory: a burst of N, then one every minute/N, and the exact wait when refused."""

from __future__ import annotations

import pytest

from core.kernel import rate_limits
from core.kernel.rate_limits import RateLimiter


class Ticking:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_limit_passes_then_one_every_interval() -> None:
    clock = Ticking()
    limiter = RateLimiter(60, clock=clock)
    assert [limiter.hit("a") for _ in range(60)] == [None] * 60
    assert limiter.hit("a") == pytest.approx(1.0)
    assert limiter.hit("b") is None, "each key has its own allowance"
    clock.now += 0.5
    assert limiter.hit("a") == pytest.approx(0.5), "a refused request is not counted"
    clock.now += 0.5
    assert limiter.hit("a") is None
    assert limiter.hit("a") == pytest.approx(1.0)


def test_a_quiet_minute_gives_the_whole_allowance_back() -> None:
    clock = Ticking()
    limiter = RateLimiter(3, clock=clock)
    for _ in range(3):
        limiter.hit("a")
    clock.now += 60
    assert [limiter.hit("a") for _ in range(4)] == [None, None, None, pytest.approx(20.0)]


def test_a_clock_set_back_costs_one_interval_not_the_jump() -> None:
    clock = Ticking()
    limiter = RateLimiter(2, clock=clock)
    limiter.hit("a")
    limiter.hit("a")
    clock.now -= 3600
    assert limiter.hit("a") == pytest.approx(30.0)


def test_many_keys_are_swept_once_their_allowance_is_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rate_limits, "SWEEP_AT", 100)
    clock = Ticking()
    limiter = RateLimiter(60, clock=clock)
    for n in range(100):
        limiter.hit(f"k{n}")
    clock.now += 2  # every key's one request is a second's worth: all whole again
    limiter.hit("new")
    assert len(limiter._used_until) == 1


def test_a_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)
