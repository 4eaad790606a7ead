"""The job-state fold: every JobEvent folded into its job's state (schemas.events.apply_event).

Folding is also where this worker learns that a job was cancelled (its work here is stopped);
jobs that stopped making progress are recovered in agents/stages/recovery.py.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from agents.stages.runtime import StageRuntime
from schemas.events import JobEvent, JobState, apply_event
from streams.codec import decode

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
