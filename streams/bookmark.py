"""Offsets kept under a consumer group that never consumes: a place on the broker itself where one
process leaves, per partition, where another should start reading, and which survives both.

The workers leave there, per events partition, the first event of the oldest unfinished job; an
API instance starts reading the events topic there (api/jobstore.py), so what it reads at start is
bounded by the jobs still running, not by every job ever run.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from schemas.settings import Settings


class Bookmark:
    def __init__(self, settings: Settings, group: str, topic: str) -> None:
        self._settings = settings
        self._group = group
        self._topic = topic
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._settings.bootstrap_servers,
                group_id=self._group,
                enable_auto_commit=False,
            )
            await consumer.start()
            partitions = consumer.partitions_for_topic(self._topic) or set()
            if not partitions:
                await consumer.topics()
                partitions = consumer.partitions_for_topic(self._topic) or set()
            tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            consumer.pause(*tps)  # it only keeps offsets: nothing is fetched
            self._consumer = consumer
        return self._consumer

    async def save(self, offsets: dict[int, int]) -> None:
        if not offsets:
            return
        async with self._lock:
            consumer = await self._started()
            await consumer.commit(
                {TopicPartition(self._topic, p): OffsetAndMetadata(o, "") for p, o in offsets.items()}
            )

    async def load(self) -> dict[int, int]:
        """The offsets left, per partition; a partition without one is absent."""
        async with self._lock:
            consumer = await self._started()
            found: dict[int, int] = {}
            for tp in consumer.assignment():
                offset = await consumer.committed(tp)
                if offset is not None:
                    found[tp.partition] = offset
            return found

    async def stop(self) -> None:
        async with self._lock:
            consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()
