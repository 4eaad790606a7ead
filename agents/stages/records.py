"""The job-records stage: a finished job's final state stored in the bucket (storage/jobrecords.py),
so GET and the history listing answer for it as long as its video is kept, whatever the events
topic still holds.

It follows the events topic like the job-state fold, and stores a record when an event ends a job
(listed in the history index) or brings a finished job's callback outcome (the record rewritten).
The record is built from the folded state once the fold has passed the event, so it holds every
event before it. The store is retried until it answers: the event is not acknowledged before, so
a worker that dies first leaves it to the partition's next owner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from agents.stages.runtime import WORKER_ID, JobStates
from media.retry import async_retrying
from schemas.events import CallbackOutcome, JobEnded, JobEvent, JobState, apply_event
from streams.jsonlog import job_context
from streams.tracing import ReadHeaders, stage_span

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 0.5
RETRY_CAP_SECONDS = 30.0


class RecordStore(Protocol):
    def put(self, state: JobState, *, indexed: bool = True) -> None: ...


# Waits (a bounded while) until the fold has passed an offset of an events partition.
FoldedPast = Callable[[int, int], Awaitable[bool]]


def _store_error(exc: BaseException) -> bool:
    return isinstance(exc, ClientError | BotoCoreError | OSError)


class RecordKeeper:
    def __init__(self, store: RecordStore, states: JobStates, folded_past: FoldedPast) -> None:
        self._store = store
        self._states = states
        self._folded_past = folded_past

    async def on_event(
        self, event: JobEvent, partition: int, offset: int, headers: ReadHeaders | None = None
    ) -> JobState | None:
        """Store the record this event calls for, if any; the record stored. `headers`: the
        event's, whose trace context (the stage that ended the job) the store's span continues."""
        if not isinstance(event, JobEnded | CallbackOutcome):
            return None
        await self._folded_past(partition, offset)
        # Applying the event again is harmless (an ended job's state is final) and covers a fold
        # that has not reached it in time.
        state = apply_event(self._states.get(event.job_id), event)
        if not state.terminal:
            return None
        with (
            job_context(event.job_id, event.request_id, "records"),
            stage_span("records", event.job_id, event.tenant, WORKER_ID, headers),
        ):
            await async_retrying(
                attempts=None,
                first_delay=RETRY_FIRST_SECONDS,
                cap=RETRY_CAP_SECONDS,
                retry_on=_store_error,
                what=f"storing the record of job {event.job_id}",
            )(asyncio.to_thread, self._store.put, state, indexed=isinstance(event, JobEnded))
            log.info("stored the record of %s job %s", state.status, event.job_id)
        return state
