"""The PRD's endpoints: create a video, read a job, follow a job's events."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body
from litestar.response import ServerSentEvent, ServerSentEventMessage

from api.errors import ApiError, error_response
from media.estimate import estimate_seconds
from media.limits import check_limits
from schemas.errors import ErrorCode, JobError
from schemas.events import JobEvent, JobRequested, JobState
from schemas.requests import VideoCreateRequest
from schemas.responses import ErrorEnvelope, JobAccepted, JobCompleted, JobFailed, JobProcessing
from schemas.settings import Settings
from schemas.views import job_view
from streams.jsonlog import job_context, request_id_var

JobView = JobCompleted | JobFailed | JobProcessing
QUEUE_FULL_RETRY_AFTER_SECONDS = 30
CANCEL_ACK_SECONDS = 5.0


def new_job_id() -> str:
    return "vg_" + secrets.token_hex(6)


def _status_endpoint(job_id: str) -> str:
    return f"/api/v1/videoresult/{job_id}"


def _accepted(job_id: str, estimate: float, message: str) -> Response[JobAccepted]:
    eta = datetime.now(UTC) + timedelta(seconds=estimate)
    return Response(
        JobAccepted(
            job_id=job_id,
            message=message,
            estimated_completion=eta.isoformat(timespec="seconds").replace("+00:00", "Z"),
            estimated_seconds=estimate,
            status_check_endpoint=_status_endpoint(job_id),
            events_endpoint=f"{_status_endpoint(job_id)}/events",
        ),
        status_code=202,
    )


def _finished(state: JobState) -> Response[Any]:
    view = job_view(state)
    if isinstance(view, JobFailed):
        details = {**view.details, "job_id": state.job_id}
        return error_response(view.error, view.message, details)
    return Response(view, status_code=200)


class VideoController(Controller):
    path = "/api/v1"
    tags = ["videos"]

    @post(
        "/videocreate",
        status_code=200,
        summary="Create a video",
        description="Renders at once when the estimate is within QUICK_RESPONSE_THRESHOLD_SECONDS "
        "(200 with result_url); otherwise, or if the render takes longer, 202 with a job id to follow.",
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
                description="Invalid spec (INVALID_INPUT, naming the field).",
            ),
        },
    )
    async def create(
        self, data: Annotated[VideoCreateRequest, Body(title="Video spec")], state: State
    ) -> Response[Any]:
        settings: Settings = state.settings
        if state.jobs.backlog >= settings.max_queued_jobs:
            raise ApiError(
                ErrorCode.QUEUE_FULL,
                f"{state.jobs.backlog} jobs are waiting; "
                f"retry after {QUEUE_FULL_RETRY_AFTER_SECONDS} seconds",
                {"backlog": state.jobs.backlog, "limit": settings.max_queued_jobs},
                headers={"Retry-After": str(QUEUE_FULL_RETRY_AFTER_SECONDS)},
            )
        spec = data.spec()
        try:
            check_limits(spec, settings)
        except JobError as exc:
            raise ApiError(exc.code, exc.message, exc.details) from exc
        job_id = new_job_id()
        estimate = estimate_seconds(spec)
        submitted_ms = int(time.time() * 1000)
        request_id = request_id_var.get()
        with job_context(job_id, request_id, "accepted"):
            await state.publisher.submit(
                JobRequested(
                    job_id=job_id,
                    request_id=request_id,
                    submitted_at_ms=submitted_ms,
                    estimated_seconds=estimate,
                    callback_url=data.callback_url,
                    spec=spec,
                ),
                JobEvent(
                    job_id=job_id,
                    request_id=request_id,
                    stage="accepted",
                    status="queued",
                    current_step="queued",
                    estimated_seconds=estimate,
                    submitted_at_ms=submitted_ms,
                    output_format=spec.output_format,
                ),
            )
        threshold = settings.quick_response_threshold_seconds
        if estimate > threshold:
            return _accepted(
                job_id, estimate, "Video is being processed; follow the status or events endpoint."
            )
        final = await state.jobs.wait_until_terminal(job_id, threshold)
        if final is None:
            return _accepted(
                job_id, estimate, "Video is taking longer than the quick-response window; follow the job."
            )
        return _finished(final)

    @get(
        "/videoresult/{job_id:str}",
        summary="A job's status and result",
        responses={
            404: ResponseSpec(ErrorEnvelope, generate_examples=False, description="Unknown job (NOT_FOUND).")
        },
    )
    async def result(self, job_id: str, state: State) -> JobView:
        job = await state.jobs.get(job_id)
        if job is None:
            raise ApiError(ErrorCode.NOT_FOUND, f"no job {job_id!r}; check the id returned by videocreate")
        return job_view(job)

    @delete(
        "/videoresult/{job_id:str}",
        status_code=200,
        summary="Cancel a job",
        description="Stops the job's render, removes its files, uploads nothing. A finished job is a 409.",
        responses={
            404: ResponseSpec(ErrorEnvelope, generate_examples=False, description="Unknown job."),
            409: ResponseSpec(ErrorEnvelope, generate_examples=False, description="The job already ended."),
        },
    )
    async def cancel(self, job_id: str, state: State) -> JobView:
        job = await state.jobs.get(job_id)
        if job is None:
            raise ApiError(ErrorCode.NOT_FOUND, f"no job {job_id!r}; check the id returned by videocreate")
        if job.terminal:
            raise ApiError(
                ErrorCode.CONFLICT,
                f"job {job_id} already ended ({job.status}); nothing to cancel",
                {"status": job.status},
            )
        with job_context(job_id, request_id_var.get(), "cancel"):
            await state.publisher.cancel(job, request_id_var.get())
        final = await state.jobs.wait_until_terminal(job_id, CANCEL_ACK_SECONDS)
        return job_view(final or job)

    @get(
        "/videoresult/{job_id:str}/events",
        summary="Server-sent events until the job ends",
        responses={
            404: ResponseSpec(ErrorEnvelope, generate_examples=False, description="Unknown job (NOT_FOUND).")
        },
    )
    async def events(self, job_id: str, state: State) -> ServerSentEvent:
        if await state.jobs.get(job_id) is None:
            raise ApiError(ErrorCode.NOT_FOUND, f"no job {job_id!r}; check the id returned by videocreate")

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            sequence = 0
            async for job in state.jobs.watch(job_id):
                sequence += 1
                view = job_view(job)
                yield ServerSentEventMessage(
                    data=orjson.dumps(view.model_dump(mode="json")).decode(),
                    event=view.status,
                    id=sequence,
                )

        return ServerSentEvent(stream(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
