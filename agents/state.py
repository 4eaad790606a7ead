"""The job-state table: every JobEvent folded into its job's state (schemas.events.apply_event)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from schemas.events import JobEvent, JobState, apply_event
from streams.app import app, events_topic, job_state
from streams.codec import decode

log = logging.getLogger(__name__)


@app.agent(events_topic)
async def fold_job_events(stream: Any) -> None:
    async for event in stream.events():
        try:
            job_event = decode(JobEvent, event.value)
        except (ValueError, ValidationError) as exc:
            log.warning("ignoring undecodable job event at offset %s: %s", event.message.offset, exc)
            continue
        current = job_state.get(job_event.job_id)
        previous = JobState.model_validate(current) if current else None
        job_state[job_event.job_id] = apply_event(previous, job_event).model_dump(mode="json")
