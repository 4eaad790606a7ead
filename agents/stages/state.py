"""The job-state fold: every JobEvent folded into its job's state (schemas.events.apply_event).

Folding is also where this worker learns that a job was cancelled (its work here is stopped);
jobs that stopped making progress are recovered in agents/stages/recovery.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from pydantic import ValidationError

from agents.stages.runtime import StageRuntime
from schemas.events import JOB_EVENT, JobState, apply_event
from streams.codec import decode

log = logging.getLogger(__name__)


def fold(value: bytes | None, runtime: StageRuntime, offset: int | None = None) -> JobState | None:
    try:
        event = decode(JOB_EVENT, value or b"")
    except (ValueError, ValidationError) as exc:
        log.warning("ignoring undecodable job event: %s", exc)
        return None
    state = apply_event(runtime.states.get(event.job_id), event)
    runtime.states.put(state, offset)
    if state.status == "cancelled" and runtime.work.cancel_job(event.job_id):
        log.info("stopped the work of cancelled job %s", event.job_id)
    return state


def start_offsets(
    first_offsets: Iterable[tuple[str, int]],
    partition_of: Callable[[str], int],
    folded: Mapping[int, int],
    partitions: Iterable[int],
) -> dict[int, int]:
    """Per events partition (of those given, which must be folded up to their end): the first event
    of its oldest unfinished job, or, with none unfinished, where the fold has reached. Everything
    a reader needs to know every unfinished job lies at or after it."""
    start = {p: folded[p] for p in partitions if p in folded}
    for job_id, offset in first_offsets:
        partition = partition_of(job_id)
        if partition in start and 0 <= offset < start[partition]:
            start[partition] = offset
    return start
