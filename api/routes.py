"""The PRD's endpoints: create a video, read, follow, cancel or download a job — each tenant its own."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage

from agents.storage import result_url
from analytics.metrics import observe_answer
from analytics.rows import count_elements
from api.auth import authenticate, current_tenant, visible
from api.errors import ApiError, error_response
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


def _error_spec(description: str) -> ResponseSpec:
    return ResponseSpec(ErrorEnvelope, generate_examples=False, description=description)


# Answers any /api/v1 route can give before its handler runs (auth guard, rate limit).
GUARD_RESPONSES = {
    401: _error_spec("No or invalid API key (UNAUTHORIZED)."),
    429: _error_spec("The tenant's rate limit or jobs-in-flight cap is reached (RATE_LIMITED, Retry-After)."),
}
UNKNOWN_JOB = _error_spec("Unknown job, or another tenant's (NOT_FOUND).")


def _not_found(job_id: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, f"no job {job_id!r}; check the id returned by videocreate")


async def _own_job(state: State, job_id: str, tenant: str | None) -> JobState:
    """The caller's job, or 404: another tenant's job is indistinguishable from a missing one."""
    job = visible(await state.jobs.get(job_id), tenant)
    if job is None:
        raise _not_found(job_id)
    return job


def _check_in_flight(state: State, settings: Settings, tenant: str | None) -> None:
    cap = settings.max_jobs_in_flight_per_tenant
    if tenant is None or cap <= 0:
        return
    running = state.jobs.in_flight(tenant)
    if running >= cap:
        raise ApiError(
            ErrorCode.RATE_LIMITED,
            f"{running} of your jobs are unfinished (limit {cap}); wait for one to end or cancel one",
            {"in_flight": running, "limit": cap},
            headers={"Retry-After": str(QUEUE_FULL_RETRY_AFTER_SECONDS)},
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
    guards = [authenticate]
    dependencies = {"tenant": Provide(current_tenant, sync_to_thread=False)}

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
            409: _error_spec("The job was cancelled while the quick response waited (CANCELLED)."),
            413: _error_spec("Body larger than MAX_REQUEST_BODY_BYTES (PAYLOAD_TOO_LARGE)."),
            422: _error_spec("A source could not be downloaded (SOURCE_DOWNLOAD_FAILED)."),
            500: _error_spec("The render failed (FFMPEG_ERROR, MEMORY_LIMIT_EXCEEDED, INTERNAL_ERROR)."),
            502: _error_spec(
                "Storing the result failed (S3_UPLOAD_FAILED, S3_ACCESS_DENIED, S3_BUCKET_NOT_FOUND)."
            ),
            503: _error_spec("Too many jobs waiting (QUEUE_FULL, Retry-After)."),
            504: _error_spec("A download or the render timed out (NETWORK_TIMEOUT, PROCESSING_TIMEOUT)."),
            507: _error_spec("The worker is out of disk (INSUFFICIENT_STORAGE)."),
            **GUARD_RESPONSES,
        },
    )
    async def create(
        self,
        data: Annotated[VideoCreateRequest, Body(title="Video spec")],
        state: State,
        tenant: NamedDependency[str | None],
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
        backlog = state.jobs.backlog
        estimate = round(await state.estimator.estimate(spec, backlog), 2)
        submitted_ms = int(time.time() * 1000)
        request_id = request_id_var.get()
        accepted = JobEvent(
            job_id=job_id,
            tenant=tenant,
            request_id=request_id,
            stage="accepted",
            status="queued",
            current_step="queued",
            estimated_seconds=estimate,
            submitted_at_ms=submitted_ms,
            output_format=spec.output_format,
            element_counts=count_elements(spec),
            backlog=backlog,
        )
        _check_in_flight(state, settings, tenant)  # no await between the check and the record
        state.jobs.record(accepted)
        with job_context(job_id, request_id, "accepted"):
            try:
                await state.publisher.submit(
                    JobRequested(
                        job_id=job_id,
                        tenant=tenant,
                        request_id=request_id,
                        submitted_at_ms=submitted_ms,
                        estimated_seconds=estimate,
                        callback_url=data.callback_url,
                        spec=spec,
                    ),
                    accepted,
                )
            except BaseException:
                state.jobs.forget(job_id)
                raise
        threshold = settings.quick_response_threshold_seconds
        if estimate > threshold:
            observe_answer("async")
            return _accepted(
                job_id, estimate, "Video is being processed; follow the status or events endpoint."
            )
        final = await state.jobs.wait_until_terminal(job_id, threshold)
        observe_answer("async" if final is None else "quick")
        if final is None:
            return _accepted(
                job_id, estimate, "Video is taking longer than the quick-response window; follow the job."
            )
        return _finished(final)

    @get(
        "/videoresult/{job_id:str}",
        summary="A job's status and result",
        responses={404: UNKNOWN_JOB, **GUARD_RESPONSES},
    )
    async def result(
        self, job_id: FromPath[str], state: State, tenant: NamedDependency[str | None]
    ) -> JobView:
        return job_view(await _own_job(state, job_id, tenant))

    @get(
        "/videoresult/{job_id:str}/download",
        status_code=307,
        summary="Redirect to the rendered video",
        description="307 to the result URL (a fresh presigned one when S3_SIGNED_URLS is on).",
        responses={
            404: UNKNOWN_JOB,
            409: _error_spec("The job has not completed (CONFLICT); its status says why."),
            **GUARD_RESPONSES,
        },
    )
    async def download(
        self, job_id: FromPath[str], state: State, tenant: NamedDependency[str | None]
    ) -> Redirect:
        job = await _own_job(state, job_id, tenant)
        if job.status != "completed" or job.result is None:
            raise ApiError(
                ErrorCode.CONFLICT,
                f"job {job_id} is {job.status}, not completed; follow {_status_endpoint(job_id)}",
                {"status": job.status},
            )
        settings: Settings = state.settings
        url = result_url(settings, job.result.s3_key) if settings.s3_signed_urls else job.result.result_url
        return Redirect(url, status_code=307)

    @delete(
        "/videoresult/{job_id:str}",
        status_code=200,
        summary="Cancel a job",
        description="Stops the job's render, removes its files, uploads nothing. A finished job is a 409.",
        responses={
            404: UNKNOWN_JOB,
            409: _error_spec("The job already ended (CONFLICT)."),
            **GUARD_RESPONSES,
        },
    )
    async def cancel(
        self, job_id: FromPath[str], state: State, tenant: NamedDependency[str | None]
    ) -> JobView:
        job = await _own_job(state, job_id, tenant)
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
        responses={404: UNKNOWN_JOB, **GUARD_RESPONSES},
    )
    async def events(
        self, job_id: FromPath[str], state: State, tenant: NamedDependency[str | None]
    ) -> ServerSentEvent:
        await _own_job(state, job_id, tenant)

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
