"""Reading past an undecodable batch loses no readable record, of that partition or any other.

The fake consumer behaves as aiokafka's does on a batch it cannot decode: records taken from other
partitions in the same call have moved their positions, and are dropped with the error.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CorruptRecordException

from streams.poison import getmany_past_unreadable

BAD = b"<corrupt batch>"
A, B = TopicPartition("t", 0), TopicPartition("t", 1)


def _record(tp: TopicPartition, offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, None, value, None, 0, len(value), [])


class _AiokafkaLikeConsumer:
    def __init__(self, logs: dict[TopicPartition, list[bytes]]) -> None:
        self.logs = logs
        self.positions = dict.fromkeys(logs, 0)

    def assignment(self) -> set[TopicPartition]:
        return set(self.logs)

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        drained: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        for tp in sorted(partitions or self.logs, key=lambda tp: -tp.partition):  # B before A
            taken: list[ConsumerRecord[bytes, bytes]] = []
            for offset in range(self.positions[tp], len(self.logs[tp])):
                if self.logs[tp][offset] == BAD:
                    if taken:
                        break
                    raise CorruptRecordException(f"Invalid CRC - {tp}")  # `drained` is lost
                taken.append(_record(tp, offset, self.logs[tp][offset]))
                if max_records is not None and len(taken) >= max_records:
                    break
            if taken:
                self.positions[tp] = taken[-1].offset + 1
                drained[tp] = taken
        return drained


def test_records_of_other_partitions_taken_in_the_failed_call_are_read_again() -> None:
    consumer = _AiokafkaLikeConsumer({A: [BAD, b"a1"], B: [b"b0", b"b1"]})
    unreadable: list[tuple[TopicPartition, int]] = []

    async def on_unreadable(tp: TopicPartition, offset: int, exc: BaseException) -> None:
        unreadable.append((tp, offset))

    async def read_all() -> list[bytes]:
        values: list[bytes] = []
        for _ in range(5):
            got = await getmany_past_unreadable(cast(AIOKafkaConsumer, consumer), on_unreadable, timeout_ms=1)
            values += [cast(bytes, r.value) for records in got.values() for r in records]
        return values

    values = asyncio.run(read_all())
    assert sorted(values) == [b"a1", b"b0", b"b1"], "each readable record exactly once"
    assert unreadable == [(A, 0)]


def test_nothing_assigned_waits_a_poll_instead_of_spinning() -> None:
    consumer = _AiokafkaLikeConsumer({})

    async def on_unreadable(*_: Any) -> None:
        raise AssertionError("nothing to skip")

    async def poll() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        got = await getmany_past_unreadable(cast(AIOKafkaConsumer, consumer), on_unreadable, timeout_ms=50)
        assert got == {}
        return loop.time() - start

    assert asyncio.run(poll()) >= 0.04
