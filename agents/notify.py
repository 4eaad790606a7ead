"""Stage 5 wiring: `videogen.jobs.uploaded` → completion, `videogen.jobs.results` → callbacks."""

from __future__ import annotations

from typing import Any

from agents.stages import notify
from agents.stages.loop import run_stage
from agents.wiring import records, runtime
from schemas.events import JobUploaded
from streams.app import app, results_topic, uploaded_topic

CALLBACK_CONCURRENCY = 4


@app.agent(uploaded_topic)
async def notify_stage(stream: Any) -> None:
    await run_stage(records(stream), "notify", JobUploaded, notify.handle, runtime)


@app.agent(results_topic, concurrency=CALLBACK_CONCURRENCY)
async def deliver_callbacks(stream: Any) -> None:
    async for raw in stream:
        await notify.deliver_callback(raw, runtime)
