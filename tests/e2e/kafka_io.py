"""Producing to and reading back from the real broker in tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition


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
