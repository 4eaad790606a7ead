"""One Kafka topic folded into memory on every API instance: all partitions, no consumer group, from
the beginning or from where the fold says it needs to start. The job store (events, from its
oldest unfinished job) and the template store (templates, from the beginning) are such folds.

`catch_up` waits until everything on the topic as of the call has been folded in: an instance
asked about a record another instance has just written (and had acknowledged) sees it after
catching up, whichever instance it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from schemas.settings import Settings
from streams.poison import getmany_past_unreadable

log = logging.getLogger(__name__)

CATCH_UP_TIMEOUT_SECONDS = 5.0


class TopicFold:
    """Reads `topic` for as long as it runs and hands every record to `_apply`."""

    topic: str

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        # End offsets asked on a connection of their own: on the fold's, the request would queue
        # behind its long-polling fetch (a broker answers one connection's requests in order).
        self._offsets: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._task: asyncio.Task[None] | None = None
        self._advanced = asyncio.Event()

    def _apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        raise NotImplementedError

    async def _start_offsets(self) -> dict[int, int]:
        """Where to start reading each partition; from its beginning when absent."""
        return {}

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self._settings.kafka_fetch_max_wait_ms,
        )
        await self._consumer.start()
        self._offsets = AIOKafkaConsumer(bootstrap_servers=self._settings.bootstrap_servers)
        await self._offsets.start()
        partitions = await self._wait_for_partitions()
        self._partitions = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        self._consumer.assign(self._partitions)
        starts = await self._start_offsets()
        for tp in self._partitions:
            if tp.partition in starts:
                self._consumer.seek(tp, starts[tp.partition])
        if unmarked := [tp for tp in self._partitions if tp.partition not in starts]:
            await self._consumer.seek_to_beginning(*unmarked)
        self._task = asyncio.create_task(self._run(), name=f"fold {self.topic}")

    async def _wait_for_partitions(self) -> set[int]:
        assert self._consumer is not None
        for _ in range(100):
            partitions = self._consumer.partitions_for_topic(self.topic)
            if partitions:
                return partitions
            await self._consumer.topics()
            await asyncio.sleep(0.2)
        raise RuntimeError(f"topic {self.topic} not found: start the worker (it creates the topics) first")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer:
            await self._consumer.stop()
        if self._offsets:
            await self._offsets.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await getmany_past_unreadable(
                    self._consumer, self._skip_unreadable, timeout_ms=200, max_records=1000
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading %s failed; retrying", self.topic)
                await asyncio.sleep(1)
                continue
            for records in batches.values():
                for record in records:
                    try:
                        self._apply(record)
                    except Exception:  # one record must not stop this instance following the topic
                        log.exception("skipping %s[%d]@%d", record.topic, record.partition, record.offset)
            self._advanced.set()
            self._advanced = asyncio.Event()

    async def _skip_unreadable(self, tp: TopicPartition, offset: int, exc: BaseException) -> None:
        """The workers dead-letter what they cannot read; an API instance only reads past it."""
        log.error("skipping an undecodable record at %s@%d: %s", tp, offset, exc)

    async def catch_up(self, timeout: float = CATCH_UP_TIMEOUT_SECONDS) -> bool:
        """Wait until everything on the topic as of now has been folded in."""
        assert self._offsets is not None
        ends = await self._offsets.end_offsets(self._partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await self._reached(ends):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._advanced.wait(), remaining)
        return True

    async def _reached(self, ends: dict[TopicPartition, int]) -> bool:
        assert self._consumer is not None
        for tp, end in ends.items():
            if await self._consumer.position(tp) < end:
                return False
        return True
