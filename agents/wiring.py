"""Faust side of the stages: the runtime they share in this worker (the bus over Faust topics,
the job-state table behind a typed getter, the work registry) and how consumed events become
`Record`s. Each `agents/<stage>.py` declares its agent with these."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from faust.types import TP

from agents.stages.loop import Record
from agents.stages.recovery import Deliveries, Recovery
from agents.stages.runtime import Bus, StageRuntime
from schemas.events import JobState
from schemas.settings import get_settings
from streams import topics
from streams.app import (
    active_jobs,
    app,
    batch_items_topic,
    chunks_topic,
    dlq_topic,
    events_topic,
    fetched_topic,
    job_state,
    rendered_topic,
    requested_topic,
    results_topic,
    uploaded_topic,
    validated_topic,
)
from streams.codec import key_bytes
from streams.committing import CommittingConsumer, Handler, OnFailed
from streams.logreader import LogReader
from streams.rawfetch import fetch_raw
from streams.tracing import Headers

log = logging.getLogger(__name__)

TOPICS: dict[str, Any] = {
    topics.REQUESTED: requested_topic,
    topics.VALIDATED: validated_topic,
    topics.FETCHED: fetched_topic,
    topics.RENDERED: rendered_topic,
    topics.UPLOADED: uploaded_topic,
    topics.EVENTS: events_topic,
    topics.RESULTS: results_topic,
    topics.DLQ: dlq_topic,
    topics.BATCH_ITEMS: batch_items_topic,
    topics.CHUNKS: chunks_topic,
}


class TableJobStates:
    """The `job_state` Faust table (JSON values) read and written as `JobState`, with the
    `active_jobs` table beside it: the unfinished jobs and where each began on the log.

    On RocksDB, a read while a Faust event is being handled looks in that event's partition only:
    read a job's state while handling a message keyed by the same job id (every stage topic and
    the events are), or outside Faust (the intake, timers), never under a chunk or batch message."""

    def get(self, job_id: str) -> JobState | None:
        raw = job_state.get(job_id)
        return JobState.model_validate(raw) if raw else None

    def unfinished(self) -> Iterable[JobState]:
        """Read through `active_jobs`: the table holds every job of its partitions (on disk), and
        recovery looks at the unfinished ones every few seconds."""
        found = (self.get(job_id) for job_id in list(active_jobs.keys()))
        return [state for state in found if state is not None and not state.terminal]

    def put(self, state: JobState, offset: int | None = None) -> None:
        job_state[state.job_id] = state.model_dump(mode="json")
        if state.terminal:
            if state.job_id in active_jobs:
                del active_jobs[state.job_id]
        elif offset is not None and state.job_id not in active_jobs:
            active_jobs[state.job_id] = offset

    def first_offsets(self) -> Iterable[tuple[str, int]]:
        """Each unfinished job with the offset of its first event."""
        return [(job_id, int(offset)) for job_id, offset in list(active_jobs.items()) if offset is not None]


# Per events partition: the offset after the last event folded into the job states here.
folded: dict[int, int] = {}
_fold_moved = asyncio.Event()


def note_folded(partition: int, offset: int) -> None:
    """The fold has handled the event at `offset`: wake whoever waits for it to pass there."""
    global _fold_moved
    folded[partition] = offset + 1
    moved, _fold_moved = _fold_moved, asyncio.Event()
    moved.set()


async def folded_past(partition: int, offset: int, timeout: float = 5.0) -> bool:
    """Wait (at most `timeout`) until the fold has handled the event at `offset`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while folded.get(partition, 0) <= offset:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_fold_moved.wait(), remaining)
    return True


CATCH_UP_SECONDS = 5.0


async def caught_up(partition: int) -> bool:
    """Wait (a bounded while) until the events of this partition up to its current end are folded,
    so a stage deciding whether its work is done reads what the previous owner wrote. False when
    this worker does not own the partition or did not catch up in time."""
    tp = TP(topics.EVENTS, partition)
    if tp not in app.consumer.assignment():
        return False
    deadline = time.monotonic() + CATCH_UP_SECONDS
    try:
        end = (await asyncio.wait_for(app.consumer.highwaters(tp), CATCH_UP_SECONDS)).get(tp)
    except Exception as exc:  # the broker between rebalances: decide on what is folded
        log.debug("end offset of %s unknown: %s", tp, exc)
        return False
    if end is None:
        return False
    return await folded_past(partition, end - 1, max(0.0, deadline - time.monotonic()))


async def ready_partitions() -> set[int]:
    """The events partitions this worker owns whose job states hold every event on the log: the
    only ones recovery may act on (a partition just given to it may still be catching up)."""
    if app.rebalancing:
        return set()
    owned = sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == topics.EVENTS)
    return {partition for partition in owned if await caught_up(partition)}


_partitioner = DefaultPartitioner()


def partition_of(job_id: str) -> int:
    """The partition of a job's messages: the producers' default (murmur2 of the key)."""
    every = list(range(get_settings().kafka_topic_partitions))
    return int(_partitioner(key_bytes(job_id), every, every))


async def _send(topic: str, key: bytes, value: bytes, headers: Headers) -> None:
    await TOPICS[topic].send(key=key, value=value, headers=headers)


states = TableJobStates()


def has_peers() -> bool:
    """Other workers are in the group when this one is not assigned every chunk partition."""
    mine = {tp.partition for tp in app.consumer.assignment() if tp.topic == topics.CHUNKS}
    return 0 < len(mine) < get_settings().kafka_topic_partitions


runtime = StageRuntime(
    bus=Bus(_send, states, max_message_bytes=get_settings().kafka_max_message_bytes),
    states=states,
    settings=get_settings(),
    caught_up=caught_up,
    has_peers=has_peers,
)
deliveries = Deliveries()
log_reader = LogReader(
    get_settings().bootstrap_servers,
    {topics.REQUESTED: topics.INTAKE_GROUP},
    topics.STAGES_GROUP,
    get_settings().kafka_fetch_max_wait_ms,
)


async def fetch_position(topic: str, partition: int) -> int | None:
    """Where this worker's Faust consumer will fetch next on a partition it owns."""
    tp = TP(topic, partition)
    if tp not in app.consumer.assignment():
        return None
    try:
        return await app.consumer.position(tp)
    except Exception as exc:  # between rebalances
        log.debug("position of %s unknown: %s", tp, exc)
        return None


recovery = Recovery(runtime, log_reader, deliveries, partition_of, ready_partitions, fetch_position)
runtime.bus.ended_in_log = recovery.ended_in_log
runtime.state_from_log = recovery.state_from_log


async def records(stream: Any) -> AsyncIterator[Record]:
    async for event in stream.events():
        message = event.message
        deliveries.record(message.topic, message.partition, message.offset)
        try:
            yield Record(
                message.topic, message.partition, message.offset, event.key, event.value, message.timestamp,
                event.headers,
            )  # fmt: skip
        finally:  # the agent asks for the next, or stopped: this one is no longer being handled
            deliveries.handled(message.topic, event.key)


async def _dead_letter_unreadable(tp: TopicPartition, offset: int, exc: BaseException) -> None:
    settings = get_settings()
    raw = await fetch_raw(settings.bootstrap_servers, tp, offset, settings.kafka_max_message_bytes)
    reason = f"undecodable record batch: {type(exc).__name__}: {exc}"
    await runtime.bus.dead_letter(tp.topic, tp.partition, offset, None, raw, reason, None)


def _dead_letter_failed(stage: str) -> OnFailed:
    async def failed(record: ConsumerRecord[bytes, bytes], exc: BaseException) -> None:
        await runtime.bus.dead_letter(
            record.topic, record.partition, record.offset, record.key, record.value,
            f"the {stage} stage failed on it: {type(exc).__name__}", None,
        )  # fmt: skip

    return failed


def committing_consumer(
    stage: str, topic: str, group: str, handle: Handler, concurrency: int = 1
) -> CommittingConsumer:
    """A consumer of our own (streams.committing) run as a task of the Faust worker and stopped
    with it: what cannot be decoded or handled is dead-lettered, and nothing it was handling when
    the worker died is committed."""
    consumer = CommittingConsumer(
        get_settings(), [topic], group, handle, _dead_letter_unreadable, _dead_letter_failed(stage),
        concurrency=concurrency,
    )  # fmt: skip

    async def run() -> None:
        await consumer.run()

    async def stop(app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await consumer.stop()

    run.__name__ = stop.__name__ = f"{stage}_consumer"
    app.task(run)
    app.on_before_shutdown.connect(stop)
    return consumer
