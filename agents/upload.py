"""Stage 4 wiring: `videogen.jobs.rendered` → agents.stages.upload; bucket rules at start."""

from __future__ import annotations

import asyncio
from typing import Any

from agents.stages import upload
from agents.stages.loop import run_stage
from agents.wiring import records, runtime
from schemas.events import JobRendered
from storage.s3 import configure_bucket
from streams.app import app, rendered_topic


@app.task
async def configure_storage() -> None:
    await asyncio.to_thread(configure_bucket, runtime.settings)


@app.agent(rendered_topic)
async def upload_stage(stream: Any) -> None:
    await run_stage(records(stream), "upload", JobRendered, upload.handle, runtime)
