"""A per-key token bucket: `per_minute` requests a minute, bursts up to the same number.

Per API instance: behind N instances a tenant gets up to N times the rate, which is the price
of keeping the limiter free of shared state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.auth import tenant_of
from api.errors import ApiError
from schemas.errors import ErrorCode


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


UNMETERED = "unmetered"  # a route handler's opt: its requests spend no token (the studio's previews)


class RateLimit:
    """Guard after authentication: 429 with Retry-After once the tenant's bucket is empty.
    Open APIs (no tenant) are not limited, nor routes whose opt says UNMETERED."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    def __deepcopy__(self, memo: dict[int, Any]) -> RateLimit:
        """Litestar deep-copies routers with their guards; a copy must spend the same buckets
        (the WebSocket route admits through the original)."""
        return self

    def admit(self, tenant: str | None) -> None:
        if tenant is None:
            return
        wait = self.limiter.acquire(tenant)
        if wait is None:
            return
        retry_after = max(1, round(wait + 0.5))
        raise ApiError(
            ErrorCode.RATE_LIMITED,
            f"rate limit of {self.limiter.per_minute} requests per minute reached; "
            f"retry after {retry_after} s",
            {"limit_per_minute": self.limiter.per_minute, "retry_after_seconds": retry_after},
            headers={"Retry-After": str(retry_after)},
        )

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        if not handler.opt.get(UNMETERED):
            self.admit(tenant_of(connection))
