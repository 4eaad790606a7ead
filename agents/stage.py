"""The loop every stage runs: decode, skip finished jobs, handle, and turn any failure into a
failed job (or a dead letter) instead of a crashed agent."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from agents.publish import dead_letter, fail
from agents.workdir import remove_job_dir
from schemas.errors import ErrorCode, JobError
from schemas.events import TERMINAL, JobContext, Stage
from schemas.settings import get_settings
from streams.app import job_state
from streams.codec import decode
from streams.jsonlog import job_context

log = logging.getLogger(__name__)

# The render succeeded and only storing it failed: keep the file so an upload can be retried.
KEEP_FILES_ON = frozenset(
    {ErrorCode.S3_UPLOAD_FAILED, ErrorCode.S3_ACCESS_DENIED, ErrorCode.S3_BUCKET_NOT_FOUND}
)


class StageMessage(Protocol):
    ctx: JobContext


M = TypeVar("M", bound=StageMessage)


def job_finished(job_id: str) -> bool:
    """True when the job-state table already holds a terminal state (cancelled, or a redelivery)."""
    state = job_state.get(job_id)
    return state is not None and state.get("status") in TERMINAL


async def run_stage(
    stream: AsyncIterator[Any],
    stage: Stage,
    model: type[M],
    handler: Callable[[M], Awaitable[None]],
) -> None:
    async for event in stream:
        message = event.message
        try:
            payload = decode(model, event.value)  # type: ignore[type-var]
        except (ValueError, ValidationError) as exc:
            await dead_letter(
                message.topic,
                message.partition,
                message.offset,
                event.key,
                event.value,
                f"undecodable: {exc}",
                None,
            )
            continue
        ctx = payload.ctx
        with job_context(ctx.job_id, ctx.request_id, stage):
            if job_finished(ctx.job_id):
                log.info("skipping %s: job already ended", stage)
                remove_job_dir(get_settings(), ctx.job_id)
                continue
            await handle_safely(stage, ctx, functools.partial(handler, payload))


async def handle_safely(stage: Stage, ctx: JobContext, call: Callable[[], Awaitable[None]]) -> None:
    try:
        await call()
    except JobError as exc:
        if exc.code != ErrorCode.CANCELLED:  # a cancel was announced by whoever asked for it
            await fail(ctx.job_id, stage, exc, ctx=ctx)
        if exc.code not in KEEP_FILES_ON:
            remove_job_dir(get_settings(), ctx.job_id)
    except Exception as exc:
        log.exception("%s stage crashed on job %s", stage, ctx.job_id)
        await fail(
            ctx.job_id,
            stage,
            JobError(
                ErrorCode.INTERNAL_ERROR,
                f"unexpected error in the {stage} stage",
                {"type": type(exc).__name__},
            ),
            ctx=ctx,
        )
        remove_job_dir(get_settings(), ctx.job_id)
