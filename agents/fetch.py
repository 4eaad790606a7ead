"""Stage 2 wiring: `videogen.jobs.validated` → agents.stages.fetch."""

from __future__ import annotations

from typing import Any

from agents.stages import fetch
from agents.stages.loop import run_stage
from agents.wiring import records, runtime
from schemas.events import JobValidated
from streams.app import app, validated_topic


@app.agent(validated_topic)
async def fetch_stage(stream: Any) -> None:
    await run_stage(records(stream), "fetch", JobValidated, fetch.handle, runtime)
