"""Keyed look-ups in the log itself: one job's records on one partition since a time.

Recovery reads the log rather than trusting a worker's copy of job state: the copy can lag (a
table rebuilt from a changelog that is behind), the log cannot. A look-up is bounded by time
(`offsets_for_times`) and by a record count, so it costs the traffic of the recent past, not the
history.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from streams.poison import getmany_past_unreadable

log = logging.getLogger(__name__)

MAX_SCANNED = 20_000
SCAN_SECONDS = 5.0
POLL_MS = 200


class LogReader:
    """A consumer of its own for look-ups (no group: partitions are assigned per look-up), and one
    per consumer group for its committed offsets (aiokafka's admin client cannot parse Tansu's
    OffsetFetch answers; a consumer's `committed` can)."""

    def __init__(
        self,
        bootstrap_servers: str,
        group_of: Mapping[str, str],
        default_group: str,
        fetch_max_wait_ms: int = 100,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._group_of = group_of
        self._default_group = default_group
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._consumers: dict[str | None, AIOKafkaConsumer] = {}
        self._lock = asyncio.Lock()

    async def _started(self, group: str | None = None) -> AIOKafkaConsumer:
        """Consumers with a group never subscribe: they only assign partitions, so they never join
        (or disturb) the group whose offsets they read."""
        if group not in self._consumers:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=self._fetch_max_wait_ms,
            )
            await consumer.start()
            self._consumers[group] = consumer
        return self._consumers[group]

    async def stop(self) -> None:
        consumers, self._consumers = list(self._consumers.values()), {}
        for consumer in consumers:
            await consumer.stop()

    async def committed(self, topic: str, partition: int) -> int | None:
        """The committed offset of the group that consumes `topic`: the next offset it will read."""
        async with self._lock:
            consumer = await self._started(self._group_of.get(topic, self._default_group))
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
        deadline = time.monotonic() + SCAN_SECONDS
        while scanned < MAX_SCANNED and await consumer.position(tp) < end:
            if time.monotonic() > deadline:  # a broker whose end offset is past its last record
                log.warning(
                    "look-up on %s stopped at %d of %d after %gs",
                    tp,
                    await consumer.position(tp),
                    end,
                    SCAN_SECONDS,
                )
                break
            batch = await getmany_past_unreadable(
                consumer, _skip_unreadable, tp, timeout_ms=POLL_MS, max_records=1_000
            )
            for record in batch.get(tp, []):
                scanned += 1
                if record.key == key and record.offset < end:
                    found.append(record)
        return found


async def _skip_unreadable(tp: TopicPartition, offset: int, exc: BaseException) -> None:
    """A look-up reads past what the consumers dead-letter."""
