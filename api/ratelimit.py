"""A per-key token bucket: `per_minute` requests a minute, bursts up to the same number.

Per API instance: behind N instances a tenant gets up to N times the rate, which is the price
of keeping the limiter free of shared state.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, key: str) -> float | None:
        """Take one token: None when allowed, else the seconds until a token is free."""
        if self.per_minute <= 0:
            return None
        now = self._clock()
        rate = self.per_minute / 60.0
        tokens, then = self._buckets.get(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - then) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / rate
