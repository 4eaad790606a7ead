"""The PRD's endpoints: create a video, read, follow, cancel or download a job — each tenant its own.

Thin controllers: each handler turns HTTP into one JobService call and the answer back into
HTTP; the decisions (admission, publishing, tenancy) are the service's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath, Parameter
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage

from api.auth import current_tenant
from api.errors import EnvelopeOperation, error_response
from api.idempotency import REPLAYED_DOC, Idempotency, replayed_headers
from api.jobservice import JobService, Submitted, status_endpoint
from schemas.events import JobOrigin, JobState, JobStatus
from schemas.requests import VideoCreateBody
from schemas.responses import ErrorEnvelope, JobAccepted, JobCompleted, JobFailed, JobHistory, JobProcessing
from schemas.templates import TemplateRender
from schemas.views import job_summary, job_view

JobView = JobCompleted | JobFailed | JobProcessing
DEFAULT_PAGE, MAX_PAGE = 20, 100


def _accepted(job_id: str, estimate: float, message: str) -> Response[JobAccepted]:
    eta = datetime.now(UTC) + timedelta(seconds=estimate)
    return Response(
        JobAccepted(
            job_id=job_id,
            message=message,
            estimated_completion=eta.isoformat(timespec="seconds").replace("+00:00", "Z"),
            estimated_seconds=estimate,
            status_check_endpoint=status_endpoint(job_id),
            events_endpoint=f"{status_endpoint(job_id)}/events",
        ),
        status_code=202,
    )


def _finished(state: JobState) -> Response[Any]:
    view = job_view(state)
    if isinstance(view, JobFailed):
        details = {**view.details, "job_id": state.job_id}
        return error_response(view.error, view.message, details)
    return Response(view, status_code=200)


def _answer(submitted: Submitted) -> Response[Any]:
    """200 with the result when the job ended within the quick window, else 202 to follow it (a
    replayed Idempotency-Key: the same, for the job as it is now)."""
    if submitted.final is not None:
        response = _finished(submitted.final)
    else:
        message = (
            "Video is taking longer than the quick-response window; follow the job."
            if submitted.waited
            else "Video is being processed; follow the status or events endpoint."
        )
        response = _accepted(submitted.job_id, submitted.estimate, message)
    response.headers.update(replayed_headers(submitted.replayed))
    return response


def job_message(state: JobState) -> tuple[str, str]:
    """A job state as (event, data): the status and the same JSON as GET (SSE and WebSocket)."""
    view = job_view(state)
    return view.status, orjson.dumps(view.model_dump(mode="json")).decode()


def error_spec(description: str) -> ResponseSpec:
    return ResponseSpec(ErrorEnvelope, generate_examples=False, description=description)


# Answers any /api/v1 route can give before its handler runs (auth guard, rate limit).
GUARD_RESPONSES = {
    401: error_spec("No or invalid API key, or two that disagree (UNAUTHORIZED)."),
    429: error_spec("The tenant's rate limit or jobs-in-flight cap is reached (RATE_LIMITED, Retry-After)."),
}
IDEMPOTENCY_CONFLICT = "The Idempotency-Key was used with another body (IDEMPOTENCY_CONFLICT)."
IDEMPOTENCY_UNAVAILABLE = "The Idempotency-Key could not be recorded in S3 (STORAGE_ERROR, Retry-After)."
UNKNOWN_JOB = error_spec("Unknown job, or another tenant's (NOT_FOUND).")
BAD_PAGE = error_spec("`limit` or `offset` out of range, or not a number (INVALID_INPUT, naming it).")
TOO_LARGE = error_spec(
    "Body larger than MAX_REQUEST_BODY_BYTES, or the job (or template) it makes larger than one Kafka "
    "message, KAFKA_MAX_MESSAGE_BYTES (PAYLOAD_TOO_LARGE)."
)


class VideoController(Controller):
    path = "/api/v1"
    tags = ["videos"]
    dependencies = {"tenant": Provide(current_tenant, sync_to_thread=False)}

    @post(
        "/videocreate",
        operation_class=EnvelopeOperation,
        status_code=200,
        summary="Create a video",
        description="Renders at once when the estimate is within QUICK_RESPONSE_THRESHOLD_SECONDS "
        "(200 with result_url); otherwise, or if the render takes longer, 202 with a job id to follow. "
        "The body is a video spec, or a saved template's `template_id` with `merge` values and "
        "`modifications`. With an Idempotency-Key, a retry answers with the first request's job.",
        response_headers=[REPLAYED_DOC],
        responses={
            200: ResponseSpec(
                JobCompleted,
                generate_examples=False,
                description="Rendered within the quick-response window.",
            ),
            202: ResponseSpec(JobAccepted, generate_examples=False, description="Accepted; follow the job."),
            400: ResponseSpec(
                ErrorEnvelope,
                generate_examples=False,
                description="Invalid spec, or a template's value missing or not fitting its field "
                "(INVALID_INPUT, naming the field).",
            ),
            404: error_spec("Unknown template, or another tenant's (NOT_FOUND)."),
            409: error_spec(
                "The job was cancelled while the quick response waited (CANCELLED), or the "
                "Idempotency-Key was used with another body (IDEMPOTENCY_CONFLICT)."
            ),
            413: TOO_LARGE,
            422: error_spec("A source could not be downloaded (SOURCE_DOWNLOAD_FAILED)."),
            500: error_spec("The render failed (FFMPEG_ERROR, MEMORY_LIMIT_EXCEEDED, INTERNAL_ERROR)."),
            502: error_spec(
                "Storing the result failed (S3_UPLOAD_FAILED, S3_ACCESS_DENIED, S3_BUCKET_NOT_FOUND)."
            ),
            503: error_spec(f"Too many jobs waiting (QUEUE_FULL, Retry-After). {IDEMPOTENCY_UNAVAILABLE}"),
            504: error_spec("A download or the render timed out (NETWORK_TIMEOUT, PROCESSING_TIMEOUT)."),
            507: error_spec("The worker is out of disk (INSUFFICIENT_STORAGE)."),
            **GUARD_RESPONSES,
        },
    )
    async def create(
        self,
        data: Annotated[VideoCreateBody, Body(title="Video spec, or a template and its values")],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
        idempotency: NamedDependency[Idempotency | None],
    ) -> Response[Any]:
        body = data.root
        if isinstance(body, TemplateRender):
            spec = await service.templates.spec_for(body.template_id, tenant, body.merge, body.modifications)
            origin = JobOrigin(template_id=body.template_id)
            return _answer(
                await service.submit(spec, tenant, body.callback_url, origin=origin, idempotency=idempotency)
            )
        return _answer(await service.submit(body.spec(), tenant, body.callback_url, idempotency=idempotency))

    @get(
        "/videoresult/{job_id:str}",
        operation_class=EnvelopeOperation,
        summary="A job's status and result",
        responses={404: UNKNOWN_JOB, **GUARD_RESPONSES},
    )
    async def result(
        self, job_id: FromPath[str], service: NamedDependency[JobService], tenant: NamedDependency[str | None]
    ) -> JobView:
        return job_view(await service.own(job_id, tenant))

    @get(
        "/videos",
        operation_class=EnvelopeOperation,
        summary="The caller's jobs, newest first",
        description="Every job of the caller's tenant (every job when API_KEYS is unset), newest "
        "first, a page at a time; `status` keeps only jobs in that state.",
        responses={
            400: error_spec(
                "`status` unknown, or `limit` or `offset` out of range (INVALID_INPUT, naming it)."
            ),
            **GUARD_RESPONSES,
        },
    )
    async def history(
        self,
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
        status: Annotated[JobStatus | None, Parameter(query="status", required=False)] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Jobs per page.")] = DEFAULT_PAGE,
        offset: Annotated[int, Parameter(ge=0, description="Jobs to skip (next_offset of a page).")] = 0,
    ) -> JobHistory:
        jobs, more = await service.history(tenant, status, limit, offset)
        return JobHistory(
            jobs=[job_summary(job, status_endpoint(job.job_id)) for job in jobs],
            total=None if more else offset + len(jobs),
            limit=limit,
            offset=offset,
            next_offset=offset + limit if more else None,
        )

    @get(
        "/videoresult/{job_id:str}/download",
        operation_class=EnvelopeOperation,
        status_code=307,
        summary="Redirect to the rendered video",
        description="307 to the result URL (a fresh presigned one when S3_SIGNED_URLS is on).",
        responses={
            404: UNKNOWN_JOB,
            409: error_spec("The job has not completed (CONFLICT); its status says why."),
            **GUARD_RESPONSES,
        },
    )
    async def download(
        self, job_id: FromPath[str], service: NamedDependency[JobService], tenant: NamedDependency[str | None]
    ) -> Redirect:
        return Redirect(await service.download_url(job_id, tenant), status_code=307)

    @delete(
        "/videoresult/{job_id:str}",
        operation_class=EnvelopeOperation,
        status_code=200,
        summary="Cancel a job",
        description="Stops the job's render, removes its files, uploads nothing. A finished job is a 409.",
        responses={
            404: UNKNOWN_JOB,
            409: error_spec("The job already ended (CONFLICT)."),
            **GUARD_RESPONSES,
        },
    )
    async def cancel(
        self, job_id: FromPath[str], service: NamedDependency[JobService], tenant: NamedDependency[str | None]
    ) -> JobView:
        return job_view(await service.cancel(job_id, tenant))

    @get(
        "/videoresult/{job_id:str}/events",
        operation_class=EnvelopeOperation,
        summary="Server-sent events until the job ends",
        responses={
            200: ResponseSpec(
                str,
                generate_examples=False,
                media_type="text/event-stream",
                description="One event per state of the job until it ends: `event` is its status, `data` "
                "the same JSON as GET /api/v1/videoresult/{job_id}, `id` counts from 1.",
            ),
            404: UNKNOWN_JOB,
            **GUARD_RESPONSES,
        },
    )
    async def events(
        self, job_id: FromPath[str], service: NamedDependency[JobService], tenant: NamedDependency[str | None]
    ) -> ServerSentEvent:
        await service.own(job_id, tenant)

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            sequence = 0
            async for job in service.follow(job_id):
                sequence += 1
                event, data = job_message(job)
                yield ServerSentEventMessage(data=data, event=event, id=sequence)

        return ServerSentEvent(stream(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
