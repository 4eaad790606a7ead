"""Job-records wiring: `videogen.jobs.events` → a finished job's record in the bucket
(agents/stages/records.py)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from agents.stages.records import RecordKeeper
from agents.wiring import folded_past, states
from schemas.events import JOB_EVENT
from schemas.settings import get_settings
from storage.jobrecords import JobRecords
from streams.app import app, events_topic
from streams.codec import decode

keeper = RecordKeeper(JobRecords(get_settings()), states, folded_past)


@app.agent(events_topic)
async def keep_job_records(stream: Any) -> None:
    async for event in stream.events():
        try:
            decoded = decode(JOB_EVENT, event.value or b"")
        except (ValueError, ValidationError):
            continue  # the fold logs it
        await keeper.on_event(decoded, event.message.partition, event.message.offset, event.headers)
