"""Reading past records no client can decode (a corrupt batch, a codec nobody ships, bytes that
are not a record batch at all), instead of failing on them forever.

aiokafka raises from `getmany` when it meets such a batch and leaves the position where it was,
so every later call raises again: a consumer that only retries never moves. Worse, the records it
had already taken from other partitions in that call are dropped with the error while their
positions have moved past them: the positions are noted before every call and those partitions
are sent back to them, so they are read again. After an error the partitions are read one record
at a time; the first record that raises is the unreadable one,
handed to `on_unreadable` with its place, and the position moves past it. Records before it are
returned as usual, so nothing readable is skipped.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CorruptRecordException, UnsupportedCodecError

log = logging.getLogger(__name__)

Records = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
OnUnreadable = Callable[[TopicPartition, int, BaseException], Awaitable[None]]

# Decoding errors: a retry can never succeed. Network and coordinator errors are not among them.
UNREADABLE: tuple[type[BaseException], ...] = (
    CorruptRecordException,
    UnsupportedCodecError,
    struct.error,
    ValueError,
    IndexError,
    EOFError,
    OSError,  # gzip's BadGzipFile
)
STEP_TIMEOUT_MS = 500
# One-record reads after an error before returning to batch reads (the error may be further on).
MAX_STEPS = 500


def is_unreadable(exc: BaseException) -> bool:
    return isinstance(exc, UNREADABLE) and not isinstance(exc, ConnectionError | TimeoutError)


async def getmany_past_unreadable(
    consumer: AIOKafkaConsumer,
    on_unreadable: OnUnreadable,
    *partitions: TopicPartition,
    timeout_ms: int,
    max_records: int | None = None,
) -> Records:
    before = await _positions(consumer, partitions or tuple(consumer.assignment()), timeout_ms)
    if not before:  # nothing assigned, or nothing readable yet
        await asyncio.sleep(timeout_ms / 1000)
        return {}
    try:
        return await consumer.getmany(*before, timeout_ms=timeout_ms, max_records=max_records)
    except Exception as exc:
        if not is_unreadable(exc):
            raise
        log.warning("a batch could not be decoded (%s); reading record by record to find it", exc)
        _rewind(consumer, before)
        return await _step(consumer, before, on_unreadable)


async def _positions(
    consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition], timeout_ms: int
) -> dict[TopicPartition, int]:
    """Where each partition will be read next. A partition without a position yet (just assigned,
    its committed offset still being looked up) is waited for no longer than a poll, and left out
    of this poll if it has none by then: a partition is read only from a position known before."""
    lookups = {tp: asyncio.ensure_future(consumer.position(tp)) for tp in partitions}
    if lookups:
        await asyncio.wait(lookups.values(), timeout=timeout_ms / 1000)
    positions: dict[TopicPartition, int] = {}
    for tp, lookup in lookups.items():
        if not lookup.done():
            lookup.cancel()
        elif lookup.exception() is None:  # IllegalStateError: moved away in a rebalance
            positions[tp] = lookup.result()
    return positions


def _rewind(consumer: AIOKafkaConsumer, before: dict[TopicPartition, int]) -> None:
    """Send every partition still ours back to where the failed call began."""
    assigned = consumer.assignment()
    for tp, offset in before.items():
        if tp in assigned:
            consumer.seek(tp, offset)


async def _step(
    consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition], on_unreadable: OnUnreadable
) -> Records:
    read: Records = {}
    for tp in partitions:
        if tp not in consumer.assignment():
            continue
        for _ in range(MAX_STEPS):
            position = await consumer.position(tp)
            try:
                got = await consumer.getmany(tp, timeout_ms=STEP_TIMEOUT_MS, max_records=1)
            except Exception as exc:
                if not is_unreadable(exc):
                    raise
                log.warning("unreadable record at %s@%d: %s", tp, position, exc)
                await on_unreadable(tp, position, exc)
                consumer.seek(tp, position + 1)
                break
            if not got.get(tp):
                break
            read.setdefault(tp, []).extend(got[tp])
    return read
