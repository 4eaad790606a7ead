"""Stage 3 wiring: `videogen.jobs.fetched` → agents.stages.render, MAX_CONCURRENT_JOBS at once."""

from __future__ import annotations

from typing import Any

from agents.stages import render
from agents.stages.loop import run_stage
from agents.wiring import records, runtime
from schemas.events import JobFetched
from streams.app import app, fetched_topic


@app.agent(fetched_topic, concurrency=runtime.settings.max_concurrent_jobs)
async def render_stage(stream: Any) -> None:
    await run_stage(records(stream), "render", JobFetched, render.handle, runtime)
