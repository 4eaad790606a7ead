"""The offset a worker commits never passes a message it has not finished handling."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from faust.types import TP
from intervaltree import IntervalTree

from streams.offsets import _new_offset, seek_to_committed_or_start

PARTITION = TP("videogen.jobs.fetched", 0)


@dataclass(eq=False)
class Message:
    offset: int
    tp: TP = PARTITION


@dataclass
class Consumer:
    committed: int | None
    acked: list[int]
    unacked: list[Message] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._acked: dict[TP, list[int]] = defaultdict(list, {PARTITION: list(self.acked)})
        self._acked_index: dict[TP, set[int]] = defaultdict(set, {PARTITION: set(self.acked)})
        self._committed_offset: dict[TP, int | None] = defaultdict(lambda: None, {PARTITION: self.committed})
        self._gap: dict[TP, IntervalTree] = defaultdict(IntervalTree)
        self._unacked_messages = set(self.unacked)

    def next_commit(self) -> Any:
        return _new_offset(self, PARTITION)


def test_consecutive_acks_commit_past_the_last() -> None:
    assert Consumer(committed=3, acked=[3, 4, 5]).next_commit() == 6


def test_a_message_in_flight_at_the_committed_offset_holds_the_commit() -> None:
    # Faust's own check (4 - 3 > 1) let this commit 6 and lose offset 3.
    consumer = Consumer(committed=3, acked=[4, 5], unacked=[Message(3)])
    assert consumer.next_commit() is None
    consumer._acked[PARTITION].insert(0, 3)
    consumer._unacked_messages.clear()
    assert consumer.next_commit() == 6


def test_before_the_first_commit_a_message_in_flight_still_holds_it() -> None:
    consumer = Consumer(committed=None, acked=[1, 2, 3, 5], unacked=[Message(4), Message(0, TP("other", 0))])
    assert consumer.next_commit() == 4  # 1..3 are done, 4 is not
    assert consumer._acked[PARTITION] == [5]


def test_offsets_missing_from_the_log_count_as_acked() -> None:
    consumer = Consumer(committed=3, acked=[3, 6])
    consumer._gap[PARTITION].addi(4, 6)
    assert consumer.next_commit() == 7


class SeekingConsumer:
    """What `seek_to_committed_or_start` uses of an aiokafka consumer."""

    def __init__(self, committed: dict[TopicPartition, int | None]) -> None:
        self._committed = committed
        self.positions: dict[TopicPartition, int] = {}

    def assignment(self) -> set[TopicPartition]:
        return set(self._committed)

    async def committed(self, tp: TopicPartition) -> int | None:
        return self._committed[tp]

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return dict.fromkeys(tps, 3)  # a log whose first offsets were deleted by retention


async def test_a_partition_never_committed_is_read_again_from_its_start() -> None:
    # aiokafka's own seek_to_committed leaves these where the consumer was, past the messages a
    # rebalance dropped from the agents' buffers.
    fetched, rendered, uploaded = (
        TopicPartition(f"videogen.jobs.{t}", 2) for t in ("fetched", "rendered", "uploaded")
    )
    changelog = TopicPartition("videogen-job_state-changelog", 2)
    consumer = SeekingConsumer({fetched: None, rendered: 0, uploaded: 7, changelog: None})
    committed = await seek_to_committed_or_start(consumer, {"videogen-job_state-changelog"})  # type: ignore[arg-type]
    assert committed == {fetched: None, rendered: 0, uploaded: 7, changelog: None}
    assert consumer.positions == {fetched: 3, rendered: 3, uploaded: 7}
