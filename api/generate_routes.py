"""Seed 003's template rendering routes: `POST /api/video/generate` (a template by id or inline,
its inputs, an optional signed webhook), `GET /api/video/status/{jobId}`, `DELETE
/api/video/cancel/{jobId}`.

Thin controllers: the template becomes a spec (a saved one through the job service's templates,
an inline one through api/tracks.py) submitted through the same JobService as any job, never
waited on (202). Its id is its job id (`gen_…`), so `WS /ws/jobs/{jobId}` follows it; these routes
only know the ids they made. Retries are the pipeline's: source downloads, uploads and webhook
deliveries are retried with exponential backoff, and a stage a worker died in is redelivered; a
failed job keeps its error (code, message, details) for GET status as long as the events topic
keeps it.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import Body, FromPath

from api.auth import current_tenant
from api.compositions import created_at
from api.errors import ApiError, EnvelopeOperation
from api.idempotency import REPLAYED_DOC, Idempotency, replayed_headers
from api.jobservice import JobService
from api.routes import (
    GUARD_RESPONSES,
    IDEMPOTENCY_CONFLICT,
    IDEMPOTENCY_UNAVAILABLE,
    TOO_LARGE,
    error_spec,
)
from api.tracks import inline_spec
from schemas.errors import ErrorCode, JobError
from schemas.events import JobOrigin, JobState
from schemas.generate import (
    GenerateAccepted,
    GenerateError,
    GenerateRequest,
    GenerateResult,
    GenerateStatus,
    WebhookDelivery,
)
from schemas.spec import VideoSpec
from schemas.views import iso

BASE = "/api/video"
GENERATE_PREFIX = "gen_"
UNKNOWN = error_spec("Unknown job, another tenant's, or not made by /api/video/generate (NOT_FOUND).")


def job_socket(request: Request[Any, Any, Any], job_id: str) -> str:
    """WS /ws/jobs/{id} on the host and scheme the client used (wss:// behind https://)."""
    base = request.base_url
    scheme = "wss" if base.scheme in ("https", "wss") else "ws"
    return f"{scheme}://{base.netloc}{base.path.rstrip('/')}/ws/jobs/{job_id}"


def generate_status(state: JobState, video_url: str | None, thumbnail_url: str | None) -> GenerateStatus:
    result, error, callback = state.result, state.error, state.callback
    error_view: GenerateError | None = None
    if error is not None:
        error_view = GenerateError(code=error.code, message=error.message, details=error.details)
    elif state.status == "cancelled":
        error_view = GenerateError(code=ErrorCode.CANCELLED, message="the job was cancelled")
    return GenerateStatus(
        jobId=state.job_id,
        status=state.status,
        progress=round(state.progress_percent, 1),
        currentStep=state.current_step,
        result=(
            GenerateResult(
                videoUrl=video_url or result.result_url,
                thumbnailUrl=thumbnail_url,
                duration=result.duration_seconds,
                fileSize=result.file_size_bytes,
                width=result.width,
                height=result.height,
                format=result.output_format,
            )
            if state.status == "completed" and result is not None
            else None
        ),
        error=error_view,
        templateId=state.origin.template_id if state.origin else None,
        webhook=(
            WebhookDelivery(
                delivered=callback.delivered, attempts=callback.attempts, statusCode=callback.status_code
            )
            if callback is not None
            else None
        ),
        createdAt=created_at(state),
        updatedAt=iso(state.updated_at),
        finishedAt=iso(state.finished_at) if state.finished_at else None,
    )


async def _own(service: JobService, job_id: str, tenant: str | None) -> JobState:
    job = await service.find(job_id, tenant) if job_id.startswith(GENERATE_PREFIX) else None
    if job is None:
        raise ApiError(
            ErrorCode.NOT_FOUND, f"no job {job_id!r}; check the jobId POST /api/video/generate returned"
        )
    return job


class GenerateController(Controller):
    path = BASE
    tags = ["template rendering"]
    dependencies = {"tenant": Provide(current_tenant, sync_to_thread=False)}

    @post(
        "/generate",
        operation_class=EnvelopeOperation,
        status_code=202,
        summary="Render a template",
        description="A saved template (template_id) or an inline one (template: the track form or a "
        "video spec), with inputs for its placeholders; webhook_url gets the signed result. Always 202. "
        "With an Idempotency-Key, a retry answers with the first request's job.",
        response_headers=[REPLAYED_DOC],
        responses={
            400: error_spec("Invalid template or inputs (INVALID_INPUT, naming each field)."),
            404: error_spec("Unknown template_id, or another tenant's (NOT_FOUND)."),
            409: error_spec(IDEMPOTENCY_CONFLICT),
            413: TOO_LARGE,
            503: error_spec(f"Too many jobs waiting (QUEUE_FULL, Retry-After). {IDEMPOTENCY_UNAVAILABLE}"),
            **GUARD_RESPONSES,
        },
    )
    async def generate(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[GenerateRequest, Body(title="Template and inputs")],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
        idempotency: NamedDependency[Idempotency | None],
    ) -> Response[GenerateAccepted]:
        spec: VideoSpec
        if data.template_id is not None:
            templates = service.templates
            spec = await templates.spec_for(data.template_id, tenant, data.inputs, values_field="inputs")
        else:
            assert data.template is not None
            try:
                spec = inline_spec(
                    data.template, data.inputs, max_text=service.settings.kafka_max_message_bytes
                )
            except JobError as exc:
                raise ApiError.of(exc) from exc
        origin = JobOrigin(template_id=data.template_id)
        submitted = await service.submit(
            spec,
            tenant,
            data.webhook_url,
            prefix=GENERATE_PREFIX,
            quick=False,
            origin=origin,
            idempotency=idempotency,
        )
        job_id = submitted.job_id
        accepted = GenerateAccepted(
            jobId=job_id,
            statusUrl=f"{BASE}/status/{job_id}",
            cancelUrl=f"{BASE}/cancel/{job_id}",
            websocketUrl=job_socket(request, job_id),
        )
        return Response(accepted, status_code=202, headers=replayed_headers(submitted.replayed))

    @get(
        "/status/{jobId:str}",
        operation_class=EnvelopeOperation,
        summary="A rendering job's status, progress, result or error",
        responses={404: UNKNOWN, **GUARD_RESPONSES},
    )
    async def status(
        self,
        jobId: FromPath[str],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
    ) -> GenerateStatus:
        job = await _own(service, jobId, tenant)
        return generate_status(job, *service.result_urls(job))

    @delete(
        "/cancel/{jobId:str}",
        operation_class=EnvelopeOperation,
        status_code=200,
        summary="Cancel a rendering job",
        description="Stops its render, removes its files, uploads nothing. A finished job is a 409.",
        responses={404: UNKNOWN, 409: error_spec("The job already ended (CONFLICT)."), **GUARD_RESPONSES},
    )
    async def cancel(
        self,
        jobId: FromPath[str],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
    ) -> GenerateStatus:
        await _own(service, jobId, tenant)
        job = await service.cancel(jobId, tenant)
        return generate_status(job, *service.result_urls(job))
