"""Stage 1 wiring: `videogen.jobs.requested` → agents.stages.validate.

The intake is the one topic outside producers write to, so it is read by a consumer of our own
(streams.committing: commit after handled, past undecodable batches) rather than by a Faust agent:
one record that no client can decode becomes a dead letter with its raw bytes, and every job
after it is still validated. Faust runs it as a task of the worker.
"""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRecord, TopicPartition

from agents.stages.loop import Record
from agents.stages.validate import handle_request
from agents.wiring import deliveries, runtime
from schemas.settings import get_settings
from streams import topics
from streams.app import app
from streams.committing import CommittingConsumer
from streams.rawfetch import fetch_raw


async def _handle(record: ConsumerRecord[bytes, bytes]) -> None:
    deliveries.record(record.topic, record.partition, record.offset, record.key)
    await handle_request(
        Record(
            record.topic, record.partition, record.offset, record.key, record.value, record.timestamp / 1000
        ),
        runtime,
    )


async def _unreadable(tp: TopicPartition, offset: int, exc: BaseException) -> None:
    raw = await fetch_raw(
        get_settings().bootstrap_servers, tp, offset, get_settings().kafka_max_message_bytes
    )
    await runtime.bus.dead_letter(
        tp.topic,
        tp.partition,
        offset,
        None,
        raw,
        f"undecodable record batch: {type(exc).__name__}: {exc}",
        None,
    )


async def _failed(record: ConsumerRecord[bytes, bytes], exc: BaseException) -> None:
    await runtime.bus.dead_letter(
        record.topic, record.partition, record.offset, record.key, record.value,
        f"the validate stage failed on it: {type(exc).__name__}", None,
    )  # fmt: skip


intake = CommittingConsumer(
    get_settings(), [topics.REQUESTED], topics.INTAKE_GROUP, _handle, _unreadable, _failed
)


@app.task
async def validate_stage() -> None:
    await intake.run()


@app.on_before_shutdown.connect
async def stop_intake(app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
    await intake.stop()
