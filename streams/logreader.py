"""Keyed look-ups in the log itself: one job's records on one partition since a time.

Recovery reads the log rather than trusting a worker's copy of job state: the copy can lag (a
table rebuilt from a changelog that is behind), the log cannot. A look-up is bounded by time
(`offsets_for_times`) and by a record count, so it costs the traffic of the recent past, not the
history.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)

MAX_SCANNED = 20_000
POLL_MS = 200


class LogReader:
    """A consumer of its own (no group membership: partitions are assigned per look-up) that
    also reads `group`'s committed offsets."""

    def __init__(self, bootstrap_servers: str, group: str, fetch_max_wait_ms: int = 100) -> None:
        self._bootstrap = bootstrap_servers
        self._group = group
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                group_id=self._group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=self._fetch_max_wait_ms,
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def committed(self, topic: str, partition: int) -> int | None:
        """The group's committed offset there: the next offset the group will read."""
        async with self._lock:
            consumer = await self._started()
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            return await consumer.committed(tp)

    async def find(
        self, topic: str, partition: int, key: bytes, since_ms: int
    ) -> list[ConsumerRecord[bytes, bytes]]:
        """Records with `key` on the partition written at or after `since_ms`, oldest first."""
        async with self._lock:
            consumer = await self._started()
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            start = (await consumer.offsets_for_times({tp: max(0, since_ms)})).get(tp)
            if start is None or start.timestamp < 0:  # nothing written since then
                return []
            end = (await consumer.end_offsets([tp]))[tp]
            consumer.seek(tp, start.offset)
            return await self._scan(consumer, tp, key, end)

    @staticmethod
    async def _scan(
        consumer: AIOKafkaConsumer, tp: TopicPartition, key: bytes, end: int
    ) -> list[ConsumerRecord[bytes, bytes]]:
        found: list[ConsumerRecord[bytes, bytes]] = []
        scanned = 0
        while scanned < MAX_SCANNED and await consumer.position(tp) < end:
            try:
                batch = await consumer.getmany(tp, timeout_ms=POLL_MS, max_records=1_000)
            except KafkaError as exc:  # a batch no client can read: step over it
                position = await consumer.position(tp)
                log.warning("skipping unreadable record %s@%d in a look-up: %s", tp, position, exc)
                consumer.seek(tp, position + 1)
                continue
            for record in batch.get(tp, []):
                scanned += 1
                if record.key == key and record.offset < end:
                    found.append(record)
        return found
