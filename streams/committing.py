"""A group consumer that commits a partition's offset only past records its handler has finished,
and reads past records no client can decode: for outside input (job requests from any producer),
where one bad record must neither be lost silently nor stop everyone's jobs, and for work a worker
must not lose when it dies (callback deliveries).

Up to `concurrency` records are handled at once; a partition's offset is committed up to its
lowest record still being handled, so nothing fetched is given up before it is handled and a
rebalance or a kill cannot strand a record (a worker that dies leaves the records it was handling,
and none other, to be handled again). A record whose handler raises is handed to `on_failed` (a
dead letter) and consumption goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError

from schemas.settings import Settings
from streams.poison import OnUnreadable, getmany_past_unreadable

log = logging.getLogger(__name__)

# The record, and whether it may have been handled already: the first record of a partition since
# it was assigned here, which its previous owner may have handled and died before committing.
Handler = Callable[[ConsumerRecord[bytes, bytes], bool], Awaitable[None]]
OnFailed = Callable[[ConsumerRecord[bytes, bytes], BaseException], Awaitable[None]]
POLL_MS = 500
MAX_RECORDS = 100
RETRY_SECONDS = 1.0
MAX_POLL_INTERVAL_MS = 900_000


class CommittingConsumer:
    def __init__(
        self,
        settings: Settings,
        topics: Sequence[str],
        group: str,
        handle: Handler,
        on_unreadable: OnUnreadable,
        on_failed: OnFailed,
        concurrency: int = 1,
    ) -> None:
        self._settings = settings
        self._concurrency = concurrency
        self._tasks: set[asyncio.Task[None]] = set()
        self._commit_lock = asyncio.Lock()
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
            # the poll loop waits for a free slot: a slow handler (a callback retrying) must not
            # count as a dead consumer
            max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
        )

    async def run(self) -> None:
        """Consume until stopped or cancelled; a broker that goes away is waited for, never a crash."""
        self._stopping = False
        while not self._stopping:
            try:
                self._consumer = self._make_consumer()
                assigned = _Assigned()
                self._consumer.subscribe(self._topics, listener=assigned)
                await self._consumer.start()
                await self._consume(self._consumer, assigned.fresh)
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
        """Records still being handled are abandoned uncommitted: whoever reads the partition next
        handles them again."""
        for task in list(self._tasks):
            task.cancel()
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _consume(self, consumer: AIOKafkaConsumer, fresh: set[TopicPartition]) -> None:
        handled = _Handled()
        slots = asyncio.Semaphore(self._concurrency)
        while True:
            batches = await getmany_past_unreadable(
                consumer, self._skipped(consumer, handled), timeout_ms=POLL_MS, max_records=MAX_RECORDS
            )
            for tp, records in batches.items():
                for record in records:
                    if tp not in consumer.assignment():  # moved in a rebalance: its new owner reads it
                        break
                    await slots.acquire()
                    handled.start(tp, record.offset)
                    maybe_handled = tp in fresh
                    fresh.discard(tp)
                    handling = self._handle_then_commit(consumer, handled, slots, record, maybe_handled)
                    task = asyncio.create_task(handling)
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    async def _handle_then_commit(
        self,
        consumer: AIOKafkaConsumer,
        handled: _Handled,
        slots: asyncio.Semaphore,
        record: ConsumerRecord[bytes, bytes],
        maybe_handled: bool,
    ) -> None:
        tp = TopicPartition(record.topic, record.partition)
        try:
            await self._handle_one(record, maybe_handled)
        finally:
            slots.release()
        handled.finish(tp, record.offset)
        await self._commit(consumer, handled, tp)

    def _skipped(self, consumer: AIOKafkaConsumer, handled: _Handled) -> OnUnreadable:
        async def skipped(tp: TopicPartition, offset: int, exc: BaseException) -> None:
            await self._on_unreadable(tp, offset, exc)
            handled.start(tp, offset)
            handled.finish(tp, offset)
            await self._commit(consumer, handled, tp)

        return skipped

    async def _handle_one(self, record: ConsumerRecord[bytes, bytes], maybe_handled: bool) -> None:
        try:
            await self._handle(record, maybe_handled)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("handling %s[%d]@%d failed", record.topic, record.partition, record.offset)
            await self._on_failed(record, exc)

    async def _commit(self, consumer: AIOKafkaConsumer, handled: _Handled, tp: TopicPartition) -> None:
        """Up to the lowest record of the partition still being handled. A commit refused because
        the partition moved is fine: its new owner reads the records again, and handling them
        twice is harmless (validation is idempotent, a callback's receiver dedupes)."""
        async with self._commit_lock:
            offset = handled.committable(tp)
            if offset is None:
                return
            try:
                await consumer.commit({tp: offset})
                handled.committed(tp, offset)
            except (CommitFailedError, KafkaError) as exc:
                log.info("offset %d of %s not committed: %s", offset, tp, exc)


class _Assigned(ConsumerRebalanceListener):
    """Collects the partitions assigned to this consumer: the first record of each may have been
    handled by the previous owner."""

    def __init__(self) -> None:
        self.fresh: set[TopicPartition] = set()

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        self.fresh.difference_update(revoked)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        self.fresh.update(assigned)


class _Handled:
    """Per partition: the records being handled, the highest started, and what was committed."""

    def __init__(self) -> None:
        self._running: dict[TopicPartition, set[int]] = {}
        self._highest: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}

    def start(self, tp: TopicPartition, offset: int) -> None:
        self._running.setdefault(tp, set()).add(offset)
        self._highest[tp] = max(offset, self._highest.get(tp, -1))

    def finish(self, tp: TopicPartition, offset: int) -> None:
        self._running.get(tp, set()).discard(offset)

    def committable(self, tp: TopicPartition) -> int | None:
        """The next offset to commit, when it moves past what is committed: never past a record
        still being handled."""
        running = self._running.get(tp)
        offset = min(running) if running else self._highest.get(tp, -1) + 1
        return offset if offset > self._committed.get(tp, 0) else None

    def committed(self, tp: TopicPartition, offset: int) -> None:
        self._committed[tp] = max(offset, self._committed.get(tp, 0))
