"""Seed 004's internal service API (`/internal/v1`), for trusted upstream services only: every
route is behind `InternalAuthenticator` (INTERNAL_API_KEYS; closed without it).

`POST /process-clips` turns each clip into an ordinary job (api/processing.py) submitted as one
batch through the JobService; the batch's single callback is sent by the workers once every clip
has ended (agents/stages/batches.py), so no API instance holds any of it.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import SecurityRequirement
from litestar.params import Body, FromPath

from api.auth import InternalAuthenticator, current_tenant
from api.errors import ApiError, EnvelopeOperation
from api.idempotency import REPLAYED_DOC, Idempotency, replayed_headers
from api.jobservice import JobService, Submitted
from api.processing import CLIP_PREFIX, check_request, clip_spec
from api.routes import (
    IDEMPOTENCY_CONFLICT,
    IDEMPOTENCY_UNAVAILABLE,
    TOO_LARGE,
    UNKNOWN_JOB,
    JobView,
    error_spec,
)
from schemas.batches import ClipError
from schemas.errors import JobError
from schemas.processing import ClipJob, ProcessClipsAccepted, ProcessClipsRequest
from schemas.views import job_view

BASE = "/internal/v1"
INTERNAL_GUARD_RESPONSES = {
    401: error_spec("No or invalid internal key, or two keys that disagree (UNAUTHORIZED)."),
    403: error_spec("Internal routes are disabled: INTERNAL_API_KEYS is not set (FORBIDDEN)."),
}


def internal_status_endpoint(job_id: str) -> str:
    return f"{BASE}/jobs/{job_id}"


def _clip_job(index: int, clip: str, outcome: Submitted | JobError) -> ClipJob:
    if isinstance(outcome, JobError):
        error = ClipError(code=outcome.code, message=outcome.message)
        return ClipJob(index=index, clip=clip, job_id=None, status="failed", error=error)
    return ClipJob(
        index=index,
        clip=clip,
        job_id=outcome.job_id,
        status="queued",
        status_check_endpoint=internal_status_endpoint(outcome.job_id),
    )


class InternalController(Controller):
    path = BASE
    tags = ["internal"]
    dependencies = {"tenant": Provide(current_tenant, sync_to_thread=False)}

    @post(
        "/process-clips",
        operation_class=EnvelopeOperation,
        status_code=202,
        summary="Process raw clips, one callback for all",
        description="Each clip becomes a job of its own: normalize (1280x720 inside black bars, 30 fps, "
        "H.264 CRF 21, AAC), color_correct (color_preset), thumbnail. When every clip has ended, one "
        "signed callback lists each clip's outcome. One Idempotency-Key covers the whole request: a retry "
        "answers with the first request's batch.",
        response_headers=[REPLAYED_DOC],
        responses={
            400: error_spec(
                "Invalid body or operations (INVALID_INPUT) or a URL that is not a video "
                "(INVALID_CLIP_FORMAT); details.fields names each field."
            ),
            409: error_spec(IDEMPOTENCY_CONFLICT),
            413: TOO_LARGE,
            429: error_spec("The tenant's jobs-in-flight cap has no room for every clip (RATE_LIMITED)."),
            503: error_spec(
                f"The queue has no room for every clip (QUEUE_FULL, Retry-After). {IDEMPOTENCY_UNAVAILABLE}"
            ),
            **INTERNAL_GUARD_RESPONSES,
        },
    )
    async def process_clips(
        self,
        data: Annotated[ProcessClipsRequest, Body(title="Clips to process")],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
        idempotency: NamedDependency[Idempotency | None],
    ) -> Response[ProcessClipsAccepted]:
        try:
            check_request(data)
        except JobError as exc:
            raise ApiError.of(exc) from exc
        items = [(clip_spec(data, n), clip) for n, clip in enumerate(data.clips)]
        batch = await service.submit_batch(
            items,
            tenant,
            processing_id=data.processing_id,
            callback_url=data.callback_url,
            prefix=CLIP_PREFIX,
            idempotency=idempotency,
        )
        accepted = ProcessClipsAccepted(
            processing_id=data.processing_id,
            batch_id=batch.batch_id,
            clips=[
                _clip_job(n, clip, outcome)
                for n, (clip, outcome) in enumerate(zip(data.clips, batch.outcomes, strict=True))
            ],
        )
        return Response(accepted, status_code=202, headers=replayed_headers(batch.replayed))

    @get(
        "/jobs/{job_id:str}",
        operation_class=EnvelopeOperation,
        summary="A clip job's status and result",
        description="The same body as GET /api/v1/videoresult/{job_id}, for the internal caller's jobs.",
        responses={404: UNKNOWN_JOB, **INTERNAL_GUARD_RESPONSES},
    )
    async def job(
        self, job_id: FromPath[str], service: NamedDependency[JobService], tenant: NamedDependency[str | None]
    ) -> JobView:
        return job_view(await service.own(job_id, tenant))


def internal_routes(guard: InternalAuthenticator) -> Router:
    """The /internal/v1 routes behind their own key guard, documented as needing a key."""
    security: list[SecurityRequirement] = [{"bearer": []}, {"apiKey": []}]
    return Router("/", route_handlers=[InternalController], security=security, guards=[guard])
