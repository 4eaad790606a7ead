"""A group consumer that commits a partition's offset only past records its handler has finished,
and reads past records no client can decode: the intake of outside input (job requests from any
producer), where one bad record must neither be lost silently nor stop everyone's jobs.

Records are handled one at a time, in order, and each one's offset is committed once it is
handled; nothing fetched is ever dropped before it is handled, so a
rebalance cannot strand a record. A record whose handler raises is handed to `on_failed` (a dead
letter) and consumption goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from schemas.settings import Settings
from streams.poison import OnUnreadable, getmany_past_unreadable

log = logging.getLogger(__name__)

Handler = Callable[[ConsumerRecord[bytes, bytes]], Awaitable[None]]
OnFailed = Callable[[ConsumerRecord[bytes, bytes], BaseException], Awaitable[None]]
POLL_MS = 500
MAX_RECORDS = 100
RETRY_SECONDS = 1.0


class CommittingConsumer:
    def __init__(
        self,
        settings: Settings,
        topics: Sequence[str],
        group: str,
        handle: Handler,
        on_unreadable: OnUnreadable,
        on_failed: OnFailed,
    ) -> None:
        self._settings = settings
        self._topics = list(topics)
        self._group = group
        self._handle = handle
        self._on_unreadable = on_unreadable
        self._on_failed = on_failed
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = False

    def _make_consumer(self) -> AIOKafkaConsumer:
        settings = self._settings
        return AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=settings.bootstrap_servers,
            group_id=self._group,
            group_instance_id=f"{settings.kafka_group_instance_id}-{self._group}"
            if settings.kafka_group_instance_id
            else None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            session_timeout_ms=int(settings.kafka_session_timeout_seconds * 1000),
            heartbeat_interval_ms=1_000,
            rebalance_timeout_ms=int(settings.kafka_rebalance_timeout_seconds * 1000),
            max_poll_interval_ms=300_000,
        )

    async def run(self) -> None:
        """Consume until stopped or cancelled; a broker that goes away is waited for, never a crash."""
        self._stopping = False
        while not self._stopping:
            try:
                self._consumer = self._make_consumer()
                await self._consumer.start()
                await self._consume(self._consumer)
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._stopping:
                    return
                log.exception("consuming %s failed; starting again", ",".join(self._topics))
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                await self._close()

    async def stop(self) -> None:
        self._stopping = True
        await self._close()

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await getmany_past_unreadable(
                consumer, self._skipped(consumer), timeout_ms=POLL_MS, max_records=MAX_RECORDS
            )
            for tp, records in batches.items():
                for record in records:
                    if tp not in consumer.assignment():  # moved in a rebalance: its new owner reads it
                        break
                    await self._handle_one(record)
                    # one record at a time: a worker that dies leaves at most one handled record
                    # to be handled again (validation then runs twice, harmlessly)
                    await self._commit(consumer, {tp: record.offset + 1})

    def _skipped(self, consumer: AIOKafkaConsumer) -> OnUnreadable:
        async def skipped(tp: TopicPartition, offset: int, exc: BaseException) -> None:
            await self._on_unreadable(tp, offset, exc)
            await self._commit(consumer, {tp: offset + 1})

        return skipped

    async def _handle_one(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            await self._handle(record)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("handling %s[%d]@%d failed", record.topic, record.partition, record.offset)
            await self._on_failed(record, exc)

    @staticmethod
    async def _commit(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        """A commit refused because the partition moved is fine: its new owner reads the records
        again, and handling them twice is harmless (the stages skip or join done work)."""
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            log.info("offsets %s not committed: %s", offsets, exc)
