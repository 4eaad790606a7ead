"""Stage 5 wiring: `videogen.jobs.uploaded` → completion (a Faust agent), `videogen.jobs.results` →
callbacks and batch items (a consumer of our own that commits only past finished deliveries)."""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRecord

from agents.stages import notify
from agents.stages.loop import run_stage
from agents.wiring import committing_consumer, records, runtime
from schemas.events import JobUploaded
from streams import topics
from streams.app import app, uploaded_topic

CALLBACK_CONCURRENCY = 4


@app.agent(uploaded_topic)
async def notify_stage(stream: Any) -> None:
    await run_stage(records(stream), "notify", JobUploaded, notify.handle, runtime)


async def _deliver(record: ConsumerRecord[bytes, bytes], maybe_handled: bool) -> None:
    await notify.deliver_callback(record.value, runtime, record.headers)


# A callback retries for up to minutes, so several are delivered at once; the results topic's
# offset is committed only past deliveries that ended, so a worker killed mid-delivery leaves
# them to whoever reads the partition next (receivers dedupe on the job id).
callbacks = committing_consumer(
    "notify", topics.RESULTS, topics.CALLBACKS_GROUP, _deliver, concurrency=CALLBACK_CONCURRENCY
)
