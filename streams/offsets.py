"""Faust commits an offset past a message still being handled in two cases, and a worker that
dies then loses that message for good (seen in the chaos bench: jobs that never ended):

- an agent with `concurrency` > 1 acks out of order; Faust's head-of-queue check compares the
  first acked offset with the committed one off by one (`> 1` where the committed offset is
  already the next to read), so with 3 in flight and 4 acked it commits 5;
- before a partition's first commit there is no committed offset and no check at all.

The replacement commits the consecutive acked offsets, but never beyond the lowest offset this
consumer delivered and has not had acked yet, nor past a gap after the committed offset.

A rebalance also drops what Faust had fetched but not yet handed to an agent (it clears the
agents' buffers), relying on a seek back to the committed offset to read it again. aiokafka's
`seek_to_committed` only seeks partitions whose committed offset is above 0, so on a partition the
group never committed (a new stack, a quiet partition) the position stayed past the dropped
messages and they were never read again (seen in the chaos test: a `fetched` or `rendered` message
fetched during a rebalance, its job stuck until the stalled-job check failed it).
`seek_every_partition_to_committed` seeks those to the start of the log instead: nothing on them
was handled for sure, and every stage skips or joins work already done.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP
from faust.utils.functional import consecutive_numbers


def _new_offset(self: Any, tp: TP) -> int | None:
    acked: list[int] = self._acked[tp]
    if not acked:
        return None
    gaps = self._gap[tp]
    if gaps:  # offsets absent from the log (compaction) count as acked, as in Faust
        highest = max(acked)
        candidates = sorted(gaps.overlap(0, highest), key=lambda interval: interval.begin)
        if candidates:
            filled = [offset for entry in candidates for offset in range(entry.begin, entry.end)]
            acked.extend(filled)
            gaps.chop(0, max(filled[-1], highest + 1))
    acked.sort()
    committed = self._committed_offset[tp]
    if committed is not None and acked[0] > committed:
        return None  # the message at the committed offset is not acked yet
    batch = list(next(consecutive_numbers(acked)))
    pending = [m.offset for m in self._unacked_messages if m.tp == tp]
    if pending:
        batch = [offset for offset in batch if offset < min(pending)]
        if not batch:
            return None
    acked[: len(batch)] = []
    self._acked_index[tp].difference_update(batch)
    return int(batch[-1]) + 1


def commit_only_handled_offsets() -> None:
    Consumer._new_offset = _new_offset  # type: ignore[method-assign]


async def seek_to_committed_or_start(
    consumer: AIOKafkaConsumer, changelogs: Set[str]
) -> dict[TopicPartition, int | None]:
    """Seek every assigned partition to its committed offset; one without (or at 0) to the start
    of its log. Changelog partitions are left alone: table recovery positions them."""
    committed: dict[TopicPartition, int | None] = {}
    uncommitted: list[TopicPartition] = []
    for tp in consumer.assignment():
        offset = committed[tp] = await consumer.committed(tp)
        if offset is not None and offset > 0:
            consumer.seek(tp, offset)
        elif tp.topic not in changelogs:
            uncommitted.append(tp)
    if uncommitted:  # one request for all (seek_to_beginning waits on a fetcher round each)
        for tp, start in (await consumer.beginning_offsets(uncommitted)).items():
            consumer.seek(tp, start)
    return committed


async def _seek_to_committed(self: Any) -> Mapping[TopicPartition, int | None]:
    return await self.call_thread(
        seek_to_committed_or_start, self._ensure_consumer(), self.app.tables.changelog_topics
    )


def seek_every_partition_to_committed() -> None:
    AIOKafkaConsumerThread.seek_to_committed = _seek_to_committed  # type: ignore[method-assign,assignment]
