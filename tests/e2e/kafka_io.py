"""Producing to and reading back from the real broker in tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record.default_records import DefaultRecordBatchBuilder


async def produce(bootstrap: str, topic: str, value: bytes, key: bytes | None = None) -> tuple[int, int]:
    """Send one message; returns its (partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, value, key=key)
        return meta.partition, meta.offset
    finally:
        await producer.stop()


async def read_topic(
    bootstrap: str,
    topic: str,
    done: Callable[[list[dict[str, Any]]], bool] | None = None,
    timeout: float = 60.0,
) -> list[dict[str, Any]]:
    """Every JSON message on the topic from the start: until `done(messages)`, or, without
    `done`, until everything there when the call began has been read."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)

        async def finished(messages: list[dict[str, Any]]) -> bool:
            if done is not None:
                return done(messages)
            return all([await consumer.position(tp) >= end for tp, end in ends.items()])

        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while not await finished(messages) and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                messages.extend(orjson.loads(r.value) for r in records)
        return messages
    finally:
        await consumer.stop()


def corrupt_batch(key: bytes, value: bytes) -> bytes:
    """A v2 record batch whose CRC does not match its records: what a broken producer or disk
    leaves, and what no consumer can decode."""
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=0, is_transactional=False, producer_id=-1, producer_epoch=-1,
        base_sequence=-1, batch_size=1 << 20,
    )  # fmt: skip
    builder.append(0, timestamp=None, key=key, value=value, headers=[])
    data = bytearray(builder.build())
    data[-2] ^= 0xFF
    return bytes(data)


async def produce_raw_batch(bootstrap: str, topic: str, partition: int, batch: bytes) -> None:
    """A record batch sent as it is, past the producer's own encoding."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    try:
        client.add_topic(topic)
        await client.force_metadata_update()
        node = client.cluster.leader_for_partition(TopicPartition(topic, partition))
        request = ProduceRequest(
            required_acks=-1, timeout=10_000, topics=[(topic, [(partition, batch)])], transactional_id=None
        )
        response = await client.send(node, request)
        assert response.topics[0][1][0][1] == 0, response
    finally:
        await client.close()
