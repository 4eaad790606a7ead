"""The job-state fold: every JobEvent folded into its job's state (schemas.events.apply_event).

Folding is also where this worker learns that a job was cancelled (its work here is stopped)
and where jobs that stopped making progress are found and failed.
"""

from __future__ import annotations

import logging
import time

from pydantic import ValidationError

from agents.stages.runtime import StageRuntime
from schemas.errors import ErrorCode, JobError
from schemas.events import JobEvent, JobState, apply_event
from streams.codec import decode
from streams.jsonlog import job_context

log = logging.getLogger(__name__)


def fold(value: bytes | None, runtime: StageRuntime) -> JobState | None:
    try:
        event = decode(JobEvent, value or b"")
    except (ValueError, ValidationError) as exc:
        log.warning("ignoring undecodable job event: %s", exc)
        return None
    state = apply_event(runtime.states.get(event.job_id), event)
    runtime.states.put(state)
    if state.status == "cancelled" and runtime.work.cancel_job(event.job_id):
        log.info("stopped the work of cancelled job %s", event.job_id)
    return state


async def fail_stalled_jobs(runtime: StageRuntime, now: float | None = None) -> list[str]:
    """A job whose last event is older than STALLED_JOB_MINUTES will not finish by itself."""
    limit = runtime.settings.stalled_job_minutes * 60
    now = time.time() if now is None else now
    failed = []
    for job_id, state in runtime.states.items():
        if state.terminal or now - state.updated_at < limit or runtime.work.running(job_id):
            continue
        with job_context(job_id, None, state.stage):
            await runtime.bus.fail(
                job_id,
                state.stage,
                JobError(
                    ErrorCode.PROCESSING_TIMEOUT,
                    f"no progress for {limit / 60:g} minutes in the {state.stage} stage; "
                    "submit the job again",
                ),
                tenant=state.tenant,
                batch=state.batch,
            )
        failed.append(job_id)
    return failed
