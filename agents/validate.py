"""Stage 1 wiring: `videogen.jobs.requested` → agents.stages.validate.

The intake is the one topic outside producers write to, so it is read by a consumer of our own
(streams.committing: commit after handled, past undecodable batches) rather than by a Faust agent:
one record that no client can decode becomes a dead letter with its raw bytes, and every job
after it is still validated.
"""

from __future__ import annotations

from aiokafka import ConsumerRecord

from agents.stages.loop import Record
from agents.stages.validate import handle_request
from agents.wiring import committing_consumer, deliveries, runtime
from streams import topics


async def _handle(record: ConsumerRecord[bytes, bytes], maybe_handled: bool) -> None:
    deliveries.record(record.topic, record.partition, record.offset)
    seconds = record.timestamp / 1000
    await handle_request(
        Record(
            record.topic, record.partition, record.offset, record.key, record.value, seconds, record.headers
        ),
        runtime,
        maybe_handled=maybe_handled,
    )
    deliveries.handled(record.topic, record.key)


intake = committing_consumer("validate", topics.REQUESTED, topics.INTAKE_GROUP, _handle)
