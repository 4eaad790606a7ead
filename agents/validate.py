"""Stage 1: turn a raw request (from the API or straight from an upstream producer) into a
validated, estimated job, or a dead letter that says why not."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import orjson
from pydantic import ValidationError

from agents.publish import dead_letter, emit, fail, send
from agents.stage import handle_safely
from analytics.rows import count_elements
from media.estimate import estimate_seconds
from media.limits import check_limits
from schemas.errors import ErrorCode, JobError
from schemas.events import JobContext, JobRequested, JobValidated
from schemas.settings import get_settings
from streams.app import app, job_state, requested_topic, validated_topic
from streams.jsonlog import job_context

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


async def handle_request(
    topic: str, partition: int, offset: int, timestamp: float, key: bytes | None, value: bytes | None
) -> None:
    try:
        raw = orjson.loads(value or b"")
    except orjson.JSONDecodeError as exc:
        await dead_letter(topic, partition, offset, key, value, f"not JSON: {exc}", None)
        return
    claimed = _claimed_job_id(raw)
    job_id = claimed or deterministic_job_id(topic, partition, offset)
    try:
        request = JobRequested.model_validate(raw)
    except ValidationError as exc:
        details = validation_details(exc)
        first = details["fields"][0]  # type: ignore[index]
        reason = f"invalid job request: {first['field']}: {first['message']}"
        await dead_letter(topic, partition, offset, key, value, reason, job_id)
        with job_context(job_id, None, "validate"):
            await fail(
                job_id,
                "validate",
                JobError(ErrorCode.INVALID_INPUT, reason, details),
                tenant=raw.get("tenant") if isinstance(raw, dict) else None,
            )
        return
    state = job_state.get(job_id)
    if state and state.get("status") != "queued":
        log.info("duplicate request for job %s ignored", job_id)
        return
    ctx = JobContext(
        job_id=job_id,
        tenant=request.tenant,
        request_id=request.request_id,
        callback_url=request.callback_url,
        submitted_at_ms=request.submitted_at_ms or int(timestamp * 1000),
        estimated_seconds=request.estimated_seconds or estimate_seconds(request.spec),
        spec=request.spec,
    )
    with job_context(job_id, ctx.request_id, "validate"):
        await handle_safely("validate", ctx, lambda: _accept(ctx))


async def _accept(ctx: JobContext) -> None:
    started = time.monotonic()
    check_limits(ctx.spec, get_settings())
    await emit(
        ctx,
        "validate",
        "validated",
        5.0,
        estimated_seconds=ctx.estimated_seconds,
        submitted_at_ms=ctx.submitted_at_ms,
        output_format=ctx.spec.output_format,
        element_counts=count_elements(ctx.spec),
        stage_seconds=time.monotonic() - started,
    )
    await send(validated_topic, ctx.job_id, JobValidated(ctx=ctx))


@app.agent(requested_topic)
async def validate_stage(stream: Any) -> None:
    async for event in stream.events():
        message = event.message
        await handle_request(
            message.topic, message.partition, message.offset, message.timestamp, event.key, event.value
        )
