"""The job-state table: every JobEvent folded into its job's state (schemas.events.apply_event).

Folding is also where this worker learns that a job was cancelled (its render is stopped)
and where jobs that stopped making progress are found and failed.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pydantic import ValidationError

from agents.publish import fail
from agents.render import running
from schemas.errors import ErrorCode, JobError
from schemas.events import JobEvent, JobState, apply_event
from schemas.settings import get_settings
from streams.app import app, events_topic, job_state
from streams.codec import decode
from streams.jsonlog import job_context

log = logging.getLogger(__name__)
STALL_CHECK_SECONDS = 30.0


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
        state = apply_event(previous, job_event)
        job_state[job_event.job_id] = state.model_dump(mode="json")
        if state.status == "cancelled" and job_event.job_id in running:
            log.info("stopping the render of cancelled job %s", job_event.job_id)
            running[job_event.job_id].set()


@app.timer(STALL_CHECK_SECONDS)
async def fail_stalled_jobs() -> None:
    """A job whose last event is older than STALLED_JOB_MINUTES will not finish by itself."""
    limit = get_settings().stalled_job_minutes * 60
    now = time.time()
    for job_id, raw in list(job_state.items()):
        state = JobState.model_validate(raw)
        if state.terminal or now - state.updated_at < limit or job_id in running:
            continue
        with job_context(job_id, None, state.stage):
            await fail(
                job_id,
                state.stage,
                JobError(
                    ErrorCode.PROCESSING_TIMEOUT,
                    f"no progress for {limit / 60:g} minutes in the {state.stage} stage; "
                    "submit the job again",
                ),
                tenant=state.tenant,
            )
