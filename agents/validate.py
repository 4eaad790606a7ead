"""Stage 1 wiring: `videogen.jobs.requested` → agents.stages.validate."""

from __future__ import annotations

from typing import Any

from agents.stages.validate import handle_request
from agents.wiring import records, runtime
from streams.app import app, requested_topic


@app.agent(requested_topic)
async def validate_stage(stream: Any) -> None:
    async for record in records(stream):
        await handle_request(record, runtime)
