"""The batching sink between the analytics agent and the store.

`add` never waits: rows go into a bounded buffer and one background task inserts them, on a full
batch or every ANALYTICS_FLUSH_SECONDS. A store that is down or slow (each insert is bounded by
ANALYTICS_TIMEOUT_SECONDS) only makes rows wait, retried by the shared policy (media.retry) with a
growing delay that new rows do not cut short; past ANALYTICS_BUFFER_MAX the oldest rows are dropped
and counted. Re-inserting a batch whose insert timed out but landed is harmless: the tables dedupe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import Callable

from analytics import metrics
from analytics.client import AnalyticsClient, call_async
from analytics.rows import Row
from media.retry import async_retrying

log = logging.getLogger(__name__)

MAX_RETRY_SECONDS = 30.0


class _StoreDown(Exception):
    """A flush that left rows buffered because the store failed."""


class AnalyticsSink:
    def __init__(
        self,
        connect: Callable[[], AnalyticsClient],
        *,
        batch_size: int,
        flush_seconds: float,
        buffer_max: int,
        timeout: float,
    ) -> None:
        self._connect = connect
        self._client: AnalyticsClient | None = None
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.buffer_max = buffer_max
        self.timeout = timeout
        self._buffer: deque[tuple[str, Row]] = deque()
        self._full = asyncio.Event()
        self._failing = False
        self.inserted = 0
        self.dropped = 0
        self._dropped_reported = 0

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def add(self, table: str, row: Row) -> None:
        """Queue a row; drops (and counts) the oldest one when the buffer is full."""
        self._buffer.append((table, row))
        self._trim()
        if len(self._buffer) >= self.batch_size:
            self._full.set()

    def _trim(self) -> None:
        excess = len(self._buffer) - self.buffer_max
        for _ in range(max(0, excess)):
            self._buffer.popleft()
        if excess > 0:
            if self.dropped == self._dropped_reported:  # once per outage, not once per row
                log.warning("analytics buffer full (%d rows): dropping the oldest", self.buffer_max)
            self.dropped += excess
            metrics.ANALYTICS_ROWS.labels("dropped").inc(excess)
        metrics.ANALYTICS_BUFFERED.set(len(self._buffer))

    async def run(self) -> None:
        """Flush until cancelled: on a full batch or the interval, and while the store fails, again
        after twice the interval, doubling up to MAX_RETRY_SECONDS. Rows arriving meanwhile are
        only buffered: while the store is down, a full batch must not turn each new row into a retry.
        """
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.flush_seconds)
            self._full.clear()
            retrier = async_retrying(
                attempts=None,
                first_delay=min(2 * self.flush_seconds, MAX_RETRY_SECONDS),
                cap=MAX_RETRY_SECONDS,
                retry_on=lambda exc: isinstance(exc, _StoreDown),
                what="analytics flush",
                level=logging.DEBUG,  # the outage is logged once, by _on_failure
            )
            await retrier(self._flush_or_raise)

    async def _flush_or_raise(self) -> None:
        if not await self.flush():
            raise _StoreDown

    async def flush(self) -> bool:
        """Insert everything buffered, batch by batch; False (rows kept) when the store fails."""
        while self._buffer:
            batch = [self._buffer.popleft() for _ in range(min(self.batch_size, len(self._buffer)))]
            by_table: dict[str, list[Row]] = defaultdict(list)
            for table, row in batch:
                by_table[table].append(row)
            groups = list(by_table.items())
            for index, (table, rows) in enumerate(groups):
                try:
                    await self._insert(table, rows)
                except Exception as exc:
                    self._requeue([(t, row) for t, rs in groups[index:] for row in rs])
                    self._on_failure(exc)
                    return False
                self.inserted += len(rows)
                metrics.ANALYTICS_ROWS.labels("inserted").inc(len(rows))
            metrics.ANALYTICS_BUFFERED.set(len(self._buffer))
        if self._failing:
            lost = self.dropped - self._dropped_reported
            log.info("analytics store reachable again; buffered rows inserted, %d dropped", lost)
            self._failing = False
        self._dropped_reported = self.dropped
        return True

    async def _insert(self, table: str, rows: list[Row]) -> None:
        if self._client is None:
            self._client = await call_async(self._open, timeout=self.timeout)
        await call_async(self._client.insert, table, rows, timeout=self.timeout)

    def _open(self) -> AnalyticsClient:
        client = self._connect()
        try:
            client.ensure_schema()
        except Exception:
            client.close()
            raise
        return client

    def _requeue(self, rows: list[tuple[str, Row]]) -> None:
        self._buffer.extendleft(reversed(rows))
        self._trim()

    def _on_failure(self, exc: Exception) -> None:
        metrics.ANALYTICS_INSERT_FAILURES.inc()
        if not self._failing:
            log.warning("analytics store unavailable, keeping %d rows to retry: %s", len(self._buffer), exc)
            self._failing = True
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    async def close(self) -> None:
        """A last flush attempt, then release the client."""
        if self._buffer:
            await self.flush()
        if self._client is not None:
            self._client.close()
            self._client = None
