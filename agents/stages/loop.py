"""The loop every stage runs: decode, skip what is done, run the work once per worker, and turn
any failure into a failed job (or a dead letter) instead of a crashed agent."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from pydantic import ValidationError

from agents.stages.runtime import StageRuntime
from agents.workdir import remove_job_dir
from schemas.errors import ErrorCode, JobError
from schemas.events import JobContext, Stage
from streams.codec import decode
from streams.jsonlog import job_context
from streams.tracing import stage_span

log = logging.getLogger(__name__)

# The render succeeded and only storing it failed: keep the file so an upload can be retried.
KEEP_FILES_ON = frozenset(
    {ErrorCode.S3_UPLOAD_FAILED, ErrorCode.S3_ACCESS_DENIED, ErrorCode.S3_BUCKET_NOT_FOUND}
)


@dataclass(frozen=True)
class Record:
    """One consumed message, as any Kafka client gives it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float = 0.0
    # Faust gives a dict, aiokafka (name, value) pairs; the trace context rides here.
    headers: Mapping[str, bytes] | Sequence[tuple[str, bytes]] = ()


class StageMessage(Protocol):
    ctx: JobContext


M = TypeVar("M", bound=StageMessage)
Handler = Callable[[M, StageRuntime], Awaitable[None]]


class DeadLetterGuard:
    """Trips when most of a stage's recent messages went to the dead-letter topic.

    Internal topics carry only what our own stages wrote, so a run of undecodable messages means
    a bad deploy (a producer and a consumer that disagree on the contract): dead-lettering every
    job would lose them all, while stopping leaves them uncommitted for a fixed worker.
    """

    def __init__(self, stage: str, ratio: float, window_seconds: float, min_messages: int) -> None:
        self.stage = stage
        self.ratio, self.window, self.min_messages = ratio, window_seconds, min_messages
        self._seen: deque[tuple[float, bool]] = deque()
        self.reason: str | None = None

    def record(self, dead: bool, now: float | None = None) -> bool:
        """Count one message; True when the stage must stop."""
        now = time.monotonic() if now is None else now
        self._seen.append((now, dead))
        while self._seen and self._seen[0][0] < now - self.window:
            self._seen.popleft()
        total = len(self._seen)
        dead_count = sum(1 for _, d in self._seen if d)
        if self.ratio > 0 and total >= self.min_messages and dead_count >= self.ratio * total:
            self.reason = (
                f"{dead_count} of the last {total} {self.stage} messages were undecodable within "
                f"{self.window:g}s; consuming stopped so no more jobs are dead-lettered. Fix or roll back "
                "the deploy and restart the worker: the messages are still on the topic."
            )
        return self.reason is not None


OTHER_ATTEMPT_POLL_SECONDS = 0.25


async def run_stage(
    records: AsyncIterator[Record],
    stage: Stage,
    model: type[M],
    handler: Handler[M],
    runtime: StageRuntime,
) -> None:
    settings = runtime.settings
    guard = DeadLetterGuard(
        stage, settings.dlq_cap_ratio, settings.dlq_cap_window_seconds, settings.dlq_cap_min_messages
    )
    async for record in records:
        try:
            payload = decode(model, record.value or b"")  # type: ignore[type-var]
        except (ValueError, ValidationError) as exc:
            await runtime.bus.dead_letter(
                record.topic, record.partition, record.offset, record.key, record.value,
                f"undecodable: {exc}", None,
            )  # fmt: skip
            if guard.record(dead=True):
                assert guard.reason is not None
                runtime.stopped_stages[stage] = guard.reason
                log.error("%s stage stopped: %s", stage, guard.reason)
                await asyncio.Event().wait()  # until the worker is restarted
            continue
        guard.record(dead=False)
        ctx = payload.ctx
        await runtime.caught_up(record.partition)  # a job's messages all share one partition number
        with (
            job_context(ctx.job_id, ctx.request_id, stage),
            stage_span(stage, ctx.job_id, ctx.tenant, runtime.worker, record.headers),
        ):
            if runtime.bus.ended(ctx.job_id):
                log.info("skipping %s: job already ended", stage)
                await asyncio.to_thread(remove_job_dir, settings, ctx.job_id)
                continue
            if runtime.work.handed_off(stage, ctx.job_id):
                log.info("skipping %s: this worker already finished it and handed the job on", stage)
                continue
            call = functools.partial(handler, payload, runtime)
            await runtime.work.run_once(
                stage, ctx.job_id, functools.partial(handle_safely, stage, ctx, call, runtime)
            )


async def wait_for_other_attempt(stage: Stage, job_id: str, runtime: StageRuntime) -> None:
    """When another worker still runs this stage of the job (a rebalance moved the partition here
    while it worked), let it finish instead of running the stage twice at once. It counts as
    running while the job has had an event within STAGE_ATTEMPT_STALE_SECONDS (a render reports
    progress every half second); a killed worker falls silent and its work is taken over."""
    settings = runtime.settings
    waited = False
    while True:
        state = runtime.states.get(job_id)
        record = state.stages.get(stage) if state is not None else None
        if (
            state is None
            or state.terminal
            or record is None
            or record.status != "started"
            or record.worker == runtime.worker
            or time.time() - state.updated_at > settings.stage_attempt_stale_seconds
        ):
            if waited:
                log.info("done waiting for %s on %s", stage, record.worker if record else "?")
            return
        if not waited:
            log.info("%s is still running on %s; waiting for it", stage, record.worker)
            waited = True
        await asyncio.sleep(OTHER_ATTEMPT_POLL_SECONDS)


async def handle_safely(
    stage: Stage, ctx: JobContext, call: Callable[[], Awaitable[None]], runtime: StageRuntime
) -> None:
    settings = runtime.settings
    try:
        await wait_for_other_attempt(stage, ctx.job_id, runtime)
        await call()
    except asyncio.CancelledError:
        if runtime.bus.ended(ctx.job_id):  # cancelled by its owner: nothing of it is needed
            await asyncio.shield(asyncio.to_thread(remove_job_dir, settings, ctx.job_id))
        raise
    except JobError as exc:
        if exc.code != ErrorCode.CANCELLED:  # a cancel was announced by whoever asked for it
            await runtime.bus.fail(ctx.job_id, stage, exc, ctx=ctx)
        if exc.code not in KEEP_FILES_ON:
            await asyncio.to_thread(remove_job_dir, settings, ctx.job_id)
    except Exception as exc:
        log.exception("%s stage crashed on job %s", stage, ctx.job_id)
        await runtime.bus.fail(
            ctx.job_id,
            stage,
            JobError(
                ErrorCode.INTERNAL_ERROR,
                f"unexpected error in the {stage} stage",
                {"type": type(exc).__name__},
            ),
            ctx=ctx,
        )
        await asyncio.to_thread(remove_job_dir, settings, ctx.job_id)
