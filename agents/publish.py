"""What stages send: job events, terminal results and dead letters, always keyed by job id."""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any, Literal

from pydantic import BaseModel

from schemas.errors import ErrorCode, JobError
from schemas.events import (
    DeadLetter,
    ErrorInfo,
    JobContext,
    JobEvent,
    JobResult,
    ResultInfo,
    Stage,
)
from streams.app import dlq_topic, events_topic, results_topic
from streams.codec import encode, key_bytes

log = logging.getLogger(__name__)

WORKER_ID = f"{socket.gethostname()}-{os.getpid()}"


async def send(topic: Any, job_id: str, model: BaseModel) -> None:
    await topic.send(key=key_bytes(job_id), value=encode(model))


def job_event(job_id: str, tenant: str | None, request_id: str | None, **fields: Any) -> JobEvent:
    return JobEvent(job_id=job_id, tenant=tenant, request_id=request_id, worker=WORKER_ID, **fields)


async def emit(ctx: JobContext, stage: Stage, step: str, progress: float, **fields: Any) -> None:
    """A `processing` state change of a running job."""
    await send(
        events_topic,
        ctx.job_id,
        job_event(
            ctx.job_id,
            ctx.tenant,
            ctx.request_id,
            stage=stage,
            status="processing",
            current_step=step,
            progress_percent=progress,
            **fields,
        ),
    )


def processing_seconds(ctx: JobContext) -> float:
    return max(0.0, time.time() - ctx.submitted_at_ms / 1000)


async def _finish(event: JobEvent, result: JobResult) -> None:
    await send(events_topic, event.job_id, event)
    await send(results_topic, result.job_id, result)


async def complete(ctx: JobContext, result: ResultInfo) -> None:
    await _finish(
        job_event(
            ctx.job_id,
            ctx.tenant,
            ctx.request_id,
            stage="notify",
            status="completed",
            current_step="completed",
            progress_percent=100.0,
            result=result,
            output_format=result.output_format,
            bytes_out=result.file_size_bytes,
        ),
        JobResult(
            job_id=ctx.job_id,
            tenant=ctx.tenant,
            status="completed",
            processing_time_seconds=processing_seconds(ctx),
            callback_url=ctx.callback_url,
            result=result,
        ),
    )


async def fail(
    job_id: str,
    stage: Stage,
    error: JobError,
    *,
    ctx: JobContext | None = None,
    tenant: str | None = None,
    request_id: str | None = None,
) -> None:
    """End a job: a `failed` (or `cancelled`) event and result. Never raises."""
    status: Literal["failed", "cancelled"] = "cancelled" if error.code == ErrorCode.CANCELLED else "failed"
    info = ErrorInfo(code=error.code, message=error.message, details=error.details)
    tenant = ctx.tenant if ctx else tenant
    request_id = ctx.request_id if ctx else request_id
    log.warning(
        "job %s: %s %s",
        status,
        error.code,
        error.message,
        extra={"error_code": str(error.code), "details": error.details},
    )
    try:
        await _finish(
            job_event(
                job_id, tenant, request_id, stage=stage, status=status, current_step=status, error=info
            ),
            JobResult(
                job_id=job_id,
                tenant=tenant,
                status=status,
                processing_time_seconds=processing_seconds(ctx) if ctx else 0.0,
                callback_url=ctx.callback_url if ctx else None,
                error=info,
            ),
        )
    except Exception:
        log.exception("could not publish the failure of job %s", job_id)


async def dead_letter(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    reason: str,
    job_id: str | None,
) -> None:
    letter = DeadLetter(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key.decode("utf-8", "replace") if key else None,
        value=(value or b"")[:1_000_000].decode("utf-8", "replace"),
        reason=reason,
        job_id=job_id,
    )
    log.warning("dead letter from %s[%d]@%d: %s", topic, partition, offset, reason)
    await send(dlq_topic, job_id or f"{topic}-{partition}-{offset}", letter)
