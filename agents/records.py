"""Job-records wiring: `videogen.jobs.events` → a finished job's record in the bucket
(agents/stages/records.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from pydantic import ValidationError

from agents.stages.records import RecordKeeper
from agents.wiring import folded, states
from schemas.events import JobEvent
from schemas.settings import get_settings
from storage.jobrecords import JobRecords
from streams.app import app, events_topic
from streams.codec import decode

log = logging.getLogger(__name__)

FOLD_WAIT_SECONDS = 5.0


async def folded_past(partition: int, offset: int) -> bool:
    """Wait (a bounded while) until the job-state fold has passed this event."""
    deadline = time.monotonic() + FOLD_WAIT_SECONDS
    while folded.get(partition, 0) <= offset:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


keeper = RecordKeeper(JobRecords(get_settings()), states, folded_past)


@app.agent(events_topic)
async def keep_job_records(stream: Any) -> None:
    async for event in stream.events():
        try:
            decoded = decode(JobEvent, event.value or b"")
        except (ValueError, ValidationError):
            continue  # the fold logs it
        await keeper.on_event(decoded, event.message.partition, event.message.offset)
