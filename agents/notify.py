"""Stage 5: announce the finished job: the terminal event and the result on the results topic."""

from __future__ import annotations

from typing import Any

from agents.publish import complete
from agents.stage import run_stage
from schemas.events import JobUploaded
from streams.app import app, uploaded_topic


async def _notify(message: JobUploaded) -> None:
    await complete(message.ctx, message.result)


@app.agent(uploaded_topic)
async def notify_stage(stream: Any) -> None:
    await run_stage(stream.events(), "notify", JobUploaded, _notify)
