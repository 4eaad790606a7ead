"""Stage 1: turn a raw request (from the API or straight from an upstream producer) into a
validated, estimated job, or a dead letter that says why not."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import orjson
from pydantic import ValidationError

from agents.stages.loop import Record, handle_safely
from agents.stages.runtime import StageRuntime
from analytics.rows import count_elements
from media.estimate import estimate_seconds
from media.limits import check_limits
from schemas.errors import ErrorCode, JobError
from schemas.events import BatchRef, JobContext, JobRequested, JobValidated, StageFinished
from streams import topics
from streams.codec import encode
from streams.jsonlog import job_context
from streams.tracing import stage_span

log = logging.getLogger(__name__)


def deterministic_job_id(topic: str, partition: int, offset: int) -> str:
    """The id of a message that came without one: the same message redelivered is the same job."""
    return "vg_" + hashlib.sha256(f"{topic}:{partition}:{offset}".encode()).hexdigest()[:12]


def validation_details(exc: ValidationError) -> dict[str, object]:
    return {
        "fields": [
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()
        ]
    }


def _claimed_job_id(raw: Any) -> str | None:
    if isinstance(raw, dict) and isinstance(raw.get("job_id"), str) and 0 < len(raw["job_id"]) <= 64:
        return str(raw["job_id"])
    return None


def _claimed_batch(raw: Any) -> BatchRef | None:
    """The batch of a request that failed validation, when that part is whole: its batch must
    still hear that the job ended, or the batch's callback would never be sent."""
    try:
        return BatchRef.model_validate(raw.get("batch")) if isinstance(raw, dict) else None
    except ValidationError:
        return None


async def handle_request(record: Record, runtime: StageRuntime, *, maybe_handled: bool = False) -> None:
    """`maybe_handled`: the request may have been validated by a worker that died before committing
    it; the intake's partitions are not the job state's, so the job's events on the log say."""
    bus = runtime.bus
    try:
        raw = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError as exc:
        await bus.dead_letter(
            record.topic, record.partition, record.offset, record.key, record.value, f"not JSON: {exc}", None
        )
        return
    job_id = _claimed_job_id(raw) or deterministic_job_id(record.topic, record.partition, record.offset)
    try:
        request = JobRequested.model_validate(raw)
    except ValidationError as exc:
        details = validation_details(exc)
        first = details["fields"][0]  # type: ignore[index]
        reason = f"invalid job request: {first['field']}: {first['message']}"
        await bus.dead_letter(
            record.topic, record.partition, record.offset, record.key, record.value, reason, job_id
        )
        tenant = raw.get("tenant") if isinstance(raw, dict) and isinstance(raw.get("tenant"), str) else None
        with (
            job_context(job_id, None, "validate"),
            stage_span("validate", job_id, tenant, runtime.worker, record.headers),
        ):
            await bus.fail(
                job_id,
                "validate",
                JobError(ErrorCode.INVALID_INPUT, reason, details),
                tenant=tenant,
                batch=_claimed_batch(raw),
            )
        return
    await runtime.caught_up(record.partition)
    state = runtime.states.get(job_id)
    if state is None and maybe_handled:
        state = await runtime.state_from_log(job_id, record.timestamp)
    if state is not None and (state.terminal or state.started_after("validate")):
        log.info("duplicate request for job %s ignored", job_id)
        return
    ctx = JobContext(
        job_id=job_id,
        tenant=request.tenant,
        request_id=request.request_id,
        callback_url=request.callback_url,
        submitted_at_ms=request.submitted_at_ms or int(record.timestamp * 1000),
        estimated_seconds=request.estimated_seconds or estimate_seconds(request.spec),
        batch=request.batch,
        spec=request.spec,
    )
    with (
        job_context(job_id, ctx.request_id, "validate"),
        stage_span("validate", job_id, ctx.tenant, runtime.worker, record.headers),
    ):
        if state is not None and state.finished("validate"):
            log.info("job already validated; handing it on again")
            await bus.send(topics.VALIDATED, job_id, JobValidated(ctx=ctx))
            return
        await handle_safely("validate", ctx, lambda: _accept(ctx, runtime), runtime)


def check_message_size(message: JobValidated, limit: int) -> None:
    """A job request straight from an upstream producer may be larger than a stage message can be
    (the API refuses those before publishing anything)."""
    size = len(encode(message))
    if size > limit:
        raise JobError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"the job's spec is {size} bytes as a stage message, above the {limit} bytes records may have "
            "(KAFKA_MAX_MESSAGE_BYTES): host long texts or subtitles as files and refer to them by URL",
            {"size_bytes": size, "limit_bytes": limit},
        )


async def _accept(ctx: JobContext, runtime: StageRuntime) -> None:
    started = time.monotonic()
    check_limits(ctx.spec, runtime.settings)
    check_message_size(JobValidated(ctx=ctx), runtime.settings.kafka_max_message_bytes)
    # What the job is, as well: an upstream producer's job published straight to Kafka has no
    # accepted event, and this is its first.
    await runtime.bus.emit(
        StageFinished(
            job_id=ctx.job_id,
            tenant=ctx.tenant,
            request_id=ctx.request_id,
            worker=runtime.worker,
            stage="validate",
            current_step="validated",
            progress_percent=5.0,
            stage_seconds=time.monotonic() - started,
            estimated_seconds=ctx.estimated_seconds,
            submitted_at_ms=ctx.submitted_at_ms,
            output_format=ctx.spec.output_format,
            element_counts=count_elements(ctx.spec),
            batch=ctx.batch,
        )
    )
    await runtime.bus.send(topics.VALIDATED, ctx.job_id, JobValidated(ctx=ctx))
