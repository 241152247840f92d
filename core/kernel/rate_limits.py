"""Rate limits kept in memory: at most N requests a minute per key (an address, a license key).

Each key holds one number, the time its allowance is used up until (the generic cell rate
algorithm): a burst of N passes at once, then one every minute/N, and a refused request says
exactly how long to wait. Nothing touches the database, so a limit costs no more than a dict
lookup on the hottest path. Limits are per process: several processes behind one address each
keep their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Keys whose allowance is whole again are swept once the table holds this many (and then each time
# it doubles), so many random keys cost bounded memory and the sweeping stays cheap on average.
SWEEP_AT = 50_000


class RateLimiter:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 window: float = 60.0) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.limit = per_minute
        self._interval = window / per_minute
        self._window = window
        self._clock = clock
        self._used_until: dict[str, float] = {}
        self._sweep_at = SWEEP_AT

    def hit(self, key: str) -> float | None:
        """Count a request for `key`. None when it may go ahead; otherwise the seconds to wait
        (the request is not counted)."""
        now = self._clock()
        # Never more than a window ahead, so a clock set back costs one interval, not the jump.
        used_until = min(max(self._used_until.get(key, now), now), now + self._window) + self._interval
        if used_until - now > self._window + 1e-9:
            return used_until - now - self._window
        if len(self._used_until) >= self._sweep_at and key not in self._used_until:
            self._sweep(now)
        self._used_until[key] = used_until
        return None

    def _sweep(self, now: float) -> None:
        self._used_until = {key: until for key, until in self._used_until.items() if until > now}
        self._sweep_at = max(SWEEP_AT, 2 * len(self._used_until))

