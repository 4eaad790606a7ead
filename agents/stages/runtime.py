"""What a stage handler may touch: the bus it publishes on, the job states it reads, and the
registry of work running in this worker. Faust provides them in `agents.wiring`; tests provide
in-memory ones."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import BaseModel

from schemas.errors import ErrorCode, JobError
from schemas.events import (
    BatchRef,
    ErrorInfo,
    JobContext,
    JobEnded,
    JobEvent,
    JobResult,
    JobState,
    RenderedFile,
    ResultInfo,
    SourceFile,
    Stage,
    StageFinished,
    StageProgress,
    StageRecord,
    StageStarted,
    job_ended,
)
from schemas.settings import Settings
from streams import topics
from streams.codec import encode, key_bytes
from streams.deadletter import build_dead_letter
from streams.tracing import Headers, publishing

log = logging.getLogger(__name__)

WORKER_ID = f"{socket.gethostname()}-{os.getpid()}"
REMEMBERED_JOBS = 10_000

SendFn = Callable[[str, bytes, bytes, Headers], Awaitable[None]]
EndedInLog = Callable[[str, float], Awaitable[bool]]
# How far back the log is read for the end of a job whose start is unknown.
LOOKBACK_SECONDS = 3_600.0
# Events are stamped by the clocks of several hosts: the log is read from a little before a time.
LOG_MARGIN_SECONDS = 10.0


class JobStates(Protocol):
    """The folded job states (the Faust table in a worker; a dict in tests), read through one typed
    getter."""

    def get(self, job_id: str) -> JobState | None: ...

    def unfinished(self) -> Iterable[JobState]: ...

    def put(self, state: JobState, offset: int | None = None) -> None:
        """Store the job's state; `offset` is that of the event folded (the job's first, when new)."""
        ...


class BoundedIds:
    """A bounded set of job ids, oldest forgotten first."""

    def __init__(self, size: int = REMEMBERED_JOBS) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def add(self, key: str) -> None:
        self._ids[key] = None
        self._ids.move_to_end(key)
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)

    def discard(self, key: str) -> None:
        self._ids.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._ids


def processing_seconds(ctx: JobContext) -> float:
    return max(0.0, time.time() - ctx.submitted_at_ms / 1000)


class Bus:
    """Publishes what stages say, keyed by job id, and announces each job's end at most once.

    The job-state fold may lag a few hundred milliseconds behind the events this worker sent, so
    the ends this worker announced are remembered too: a second attempt that fails after the first
    completed (or the reverse) is dropped here, never published.
    """

    def __init__(
        self, send: SendFn, states: JobStates, worker: str = WORKER_ID, max_message_bytes: int = 1_000_000
    ) -> None:
        self._send = send
        self._states = states
        self.worker = worker
        self.max_message_bytes = max_message_bytes
        self._ended = BoundedIds()
        # Whether the log holds an end of the job since a time (agents.stages.recovery): asked
        # before announcing one, since this worker's copy of the job's state may be behind.
        self.ended_in_log: EndedInLog | None = None

    async def send(self, topic: str, key: str, model: BaseModel) -> None:
        """`model` on `topic`, keyed by `key`: a job id, or a batch id on the batch topic; the
        record carries the trace context of this hop."""
        with publishing(topic) as headers:
            await self._send(topic, key_bytes(key), encode(model), headers)

    async def resend(
        self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        """A message exactly as it was read, its trace context too: a stage message re-driven by recovery."""
        await self._send(topic, key, value, list(headers))

    def ended(self, job_id: str) -> bool:
        state = self._states.get(job_id)
        return job_id in self._ended or (state is not None and state.terminal)

    def learned_end(self, job_id: str) -> None:
        """The log says the job ended though this worker's copy of its state does not (yet)."""
        self._ended.add(job_id)

    async def emit(self, event: JobEvent) -> None:
        """One event of a job, keyed by its id (its end goes through `complete` or `fail`)."""
        await self.send(topics.EVENTS, event.job_id, event)

    async def started(
        self, ctx: JobContext, stage: Stage, step: str, progress: float, attempt_id: str
    ) -> None:
        """An attempt of `stage` begins its work on this worker."""
        await self.emit(
            StageStarted(
                job_id=ctx.job_id, tenant=ctx.tenant, request_id=ctx.request_id, worker=self.worker,
                stage=stage, current_step=step, progress_percent=progress, attempt_id=attempt_id,
            )
        )  # fmt: skip

    async def progress(self, ctx: JobContext, stage: Stage, step: str, progress: float) -> None:
        """A running job's step and progress."""
        await self.emit(
            StageProgress(
                job_id=ctx.job_id, tenant=ctx.tenant, request_id=ctx.request_id, worker=self.worker,
                stage=stage, current_step=step, progress_percent=progress,
            )
        )  # fmt: skip

    async def finished(
        self,
        ctx: JobContext,
        stage: Stage,
        step: str,
        progress: float,
        *,
        attempt_id: str | None,
        stage_seconds: float,
        bytes_in: int | None = None,
        bytes_out: int | None = None,
        sources: dict[str, SourceFile] | None = None,
        rendered: RenderedFile | None = None,
    ) -> None:
        """An attempt of `stage` finished its work: what it took, and what later attempts may reuse."""
        await self.emit(
            StageFinished(
                job_id=ctx.job_id, tenant=ctx.tenant, request_id=ctx.request_id, worker=self.worker,
                stage=stage, current_step=step, progress_percent=progress, attempt_id=attempt_id,
                stage_seconds=stage_seconds, bytes_in=bytes_in, bytes_out=bytes_out,
                sources=sources, rendered=rendered,
            )
        )  # fmt: skip

    async def _ended_in_log(self, job_id: str, since: float) -> bool:
        if self.ended_in_log is None:
            return False
        try:
            return await self.ended_in_log(job_id, since)
        except Exception:  # the broker is unreachable: announce on what this worker knows
            log.warning("could not read the log of job %s before ending it", job_id, exc_info=True)
            return False

    async def _finish(self, ended: tuple[JobEnded, JobResult], since: float) -> bool:
        event, result = ended
        if self.ended(event.job_id):
            log.info("job %s already ended; not announcing %s", event.job_id, event.status)
            return False
        self._ended.add(event.job_id)  # before any await: a concurrent end of the job sees it
        state = self._states.get(event.job_id)
        if state is not None:  # an end can only follow the last event this worker folded
            since = max(since, state.updated_at - LOG_MARGIN_SECONDS)
        if await self._ended_in_log(event.job_id, since):
            log.info(
                "job %s already ended (its events say so); not announcing %s", event.job_id, event.status
            )
            return False
        try:
            await self.send(topics.EVENTS, event.job_id, event)
        except BaseException:
            self._ended.discard(event.job_id)  # not announced: a later end may still be
            raise
        await self.send(topics.RESULTS, result.job_id, result)
        return True

    async def complete(self, ctx: JobContext, result: ResultInfo) -> bool:
        return await self._finish(
            job_ended(
                ctx.job_id, "completed", "notify", processing_seconds(ctx),
                tenant=ctx.tenant, request_id=ctx.request_id, callback_url=ctx.callback_url,
                batch=ctx.batch, worker=self.worker, result=result,
            ),
            ctx.submitted_at_ms / 1000,
        )  # fmt: skip

    async def fail(
        self,
        job_id: str,
        stage: Stage,
        error: JobError,
        *,
        ctx: JobContext | None = None,
        tenant: str | None = None,
        request_id: str | None = None,
        batch: BatchRef | None = None,
        since: float | None = None,
    ) -> None:
        """End a job: a `failed` (or `cancelled`) event and result. Never raises. Without `ctx`,
        `tenant`, `request_id`, `batch` and `since` (its first event) say what is known of the job."""
        status: Literal["failed", "cancelled"] = (
            "cancelled" if error.code == ErrorCode.CANCELLED else "failed"
        )
        log.warning(
            "job %s: %s %s",
            status,
            error.code,
            error.message,
            extra={"error_code": str(error.code), "details": error.details},
        )
        try:
            await self._finish(
                job_ended(
                    job_id, status, stage, processing_seconds(ctx) if ctx else 0.0,
                    tenant=ctx.tenant if ctx else tenant,
                    request_id=ctx.request_id if ctx else request_id,
                    callback_url=ctx.callback_url if ctx else None,
                    batch=ctx.batch if ctx else batch,
                    worker=self.worker,
                    error=ErrorInfo(code=error.code, message=error.message, details=error.details),
                ),
                ctx.submitted_at_ms / 1000 if ctx else since or time.time() - LOOKBACK_SECONDS,
            )  # fmt: skip
        except Exception:
            log.exception("could not publish the failure of job %s", job_id)

    async def dead_letter(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        reason: str,
        job_id: str | None,
    ) -> None:
        """Never raises: a letter that cannot be sent is logged with its place in the log, and the
        stage goes on to its next message."""
        letter = build_dead_letter(
            topic, partition, offset, key, value, reason, job_id, self.max_message_bytes
        )
        log.warning("dead letter from %s[%d]@%d: %s", topic, partition, offset, letter.reason)
        try:
            await self.send(topics.DLQ, job_id or f"{topic}-{partition}-{offset}", letter)
        except Exception:
            log.exception("could not dead-letter %s[%d]@%d", topic, partition, offset)


@dataclass
class _Work:
    task: asyncio.Task[None]
    stopped: bool = False  # cancelled on purpose: the job was cancelled


class WorkRegistry:
    """The stage work running in this worker, by (stage, job id).

    A message redelivered while its work still runs here (after a rebalance the consumer seeks
    back to the last committed offset) joins that work instead of starting it again. Work whose
    partition moved to another worker goes on: the new owner waits for it (`wait_for_other_attempt`).
    """

    def __init__(self) -> None:
        self._work: dict[tuple[Stage, str], _Work] = {}
        self._handed_off = BoundedIds()

    def running(self, job_id: str) -> bool:
        return any(job == job_id for _, job in self._work)

    def handed_off(self, stage: Stage, job_id: str) -> bool:
        """True when this worker finished that stage of the job and sent its message on."""
        return f"{stage}:{job_id}" in self._handed_off

    def mark_handed_off(self, stage: Stage, job_id: str) -> None:
        self._handed_off.add(f"{stage}:{job_id}")

    async def run_once(self, stage: Stage, job_id: str, work: Callable[[], Awaitable[None]]) -> bool:
        """Run `work` unless the same stage of the job is running here already, then wait for
        whichever runs. Returns False when it joined. `work` must handle its own errors."""
        key = (stage, job_id)
        existing = self._work.get(key)
        if existing is not None:
            log.info("%s of job %s is already running on this worker; waiting for it", stage, job_id)
            await self._wait(key, existing)
            return False

        async def call() -> None:
            await work()

        entry = _Work(asyncio.ensure_future(call()))
        self._work[key] = entry
        try:
            await self._wait(key, entry)
        finally:
            if self._work.get(key) is entry:
                del self._work[key]
        return True

    @staticmethod
    async def _wait(key: tuple[Stage, str], entry: _Work) -> None:
        try:
            await asyncio.shield(entry.task)
        except asyncio.CancelledError:
            if not entry.stopped or not entry.task.done():
                raise  # this worker is stopping, not the work being stopped on purpose
            log.info("%s of job %s stopped", *key)

    def cancel_job(self, job_id: str) -> bool:
        """Stop every stage of a job running here (the job was cancelled); True when any ran."""
        found = False
        for (_, job), entry in self._work.items():
            if job == job_id and not entry.task.done():
                entry.stopped = True
                entry.task.cancel()
                found = True
        return found


@dataclass(frozen=True)
class PriorAttempts:
    """What earlier attempts of a stage left for a job: a stage whose message is redelivered
    either has nothing to do (a later stage started), a finished product to hand on, or work."""

    handed_off: bool
    finished: StageRecord | None


def prior_attempts(states: JobStates, stage: Stage, job_id: str) -> PriorAttempts:
    state = states.get(job_id)
    if state is None:
        return PriorAttempts(handed_off=False, finished=None)
    if state.started_after(stage):
        log.info("%s already handed off; redelivery ignored", stage)
        return PriorAttempts(handed_off=True, finished=state.finished(stage))
    return PriorAttempts(handed_off=False, finished=state.finished(stage))


def new_attempt_id() -> str:
    return uuid.uuid4().hex[:10]


async def _nothing_to_wait_for() -> bool:
    return True


async def _no_state() -> JobState | None:
    return None


@dataclass
class StageRuntime:
    """Everything a stage handler uses besides its message."""

    bus: Bus
    states: JobStates
    settings: Settings
    work: WorkRegistry = field(default_factory=WorkRegistry)
    # Stages the dead-letter cap stopped, with why: the worker's /health reports them.
    stopped_stages: dict[str, str] = field(default_factory=dict)
    # Waits until the job states hold every event already on the events partition of that number
    # (a worker given a partition in a rebalance folds its events while its stages start).
    caught_up: Callable[[int], Awaitable[bool]] = field(default=lambda _partition: _nothing_to_wait_for())
    # A job's state folded from its events on the log since a time (agents.stages.recovery), for a
    # stage whose partitions are not the job state's (the intake).
    state_from_log: Callable[[str, float], Awaitable[JobState | None]] = field(
        default=lambda _job_id, _since: _no_state()
    )
    # Whether other workers share the chunk topic (a chunked render only pays off with helpers).
    has_peers: Callable[[], bool] = field(default=lambda: False)

    @property
    def worker(self) -> str:
        return self.bus.worker
