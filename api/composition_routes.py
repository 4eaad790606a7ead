"""Seed 004's compositions API: create a composition, read its status and metadata, download it.

Thin controllers like the PRD's: a composition is translated into a video spec (api/compositions.py)
and submitted through the same JobService as any job, never waited on (the answer is always 202).
Only ids the compositions API made (`comp_…`) are compositions; any other id is not found here.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import Body, FromPath
from litestar.response import Redirect

from api.auth import current_tenant
from api.compositions import COMPOSITION_PREFIX, is_composition, metadata_view, status_view, to_spec
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
from schemas.compositions import (
    CompositionAccepted,
    CompositionMetadata,
    CompositionRequest,
    CompositionStatus,
)
from schemas.errors import ErrorCode, JobError
from schemas.events import JobState
from schemas.views import iso

BASE = "/api/v1/compositions"
UNKNOWN = error_spec("Unknown composition, or another tenant's (COMPOSITION_NOT_FOUND).")


def composition_socket(request: Request[Any, Any, Any], composition_id: str) -> str:
    """The WebSocket URL on the host and scheme the client used (wss:// behind https://)."""
    base = request.base_url
    scheme = "wss" if base.scheme in ("https", "wss") else "ws"
    return f"{scheme}://{base.netloc}{base.path.rstrip('/')}/ws/compositions/{composition_id}"


async def find_composition(service: JobService, composition_id: str, tenant: str | None) -> JobState | None:
    """The caller's composition, or None (another tenant's, or a job made by another surface)."""
    return await service.find(composition_id, tenant) if is_composition(composition_id) else None


async def own_composition(service: JobService, composition_id: str, tenant: str | None) -> JobState:
    job = await find_composition(service, composition_id, tenant)
    if job is None:
        raise ApiError(
            ErrorCode.COMPOSITION_NOT_FOUND,
            f"no composition {composition_id!r}; check the composition_id POST /api/v1/compositions returned",
        )
    return job


class CompositionController(Controller):
    path = BASE
    tags = ["compositions"]
    dependencies = {"tenant": Provide(current_tenant, sync_to_thread=False)}

    @post(
        "/",
        operation_class=EnvelopeOperation,
        status_code=202,
        summary="Create a composition",
        description="Clips in order with transitions, text overlays, music and voice-over, rendered "
        "into one video (and a JPEG thumbnail). Always 202: follow it by GET or the websocket_url. "
        "With an Idempotency-Key, a retry answers with the first request's composition.",
        response_headers=[REPLAYED_DOC],
        responses={
            400: error_spec(
                "Invalid body (INVALID_INPUT), a URL that is not a video (INVALID_CLIP_FORMAT) or "
                "an impossible timeline (INVALID_TIMELINE); details.fields names each field."
            ),
            409: error_spec(IDEMPOTENCY_CONFLICT),
            413: TOO_LARGE,
            503: error_spec(f"Too many jobs waiting (QUEUE_FULL, Retry-After). {IDEMPOTENCY_UNAVAILABLE}"),
            **GUARD_RESPONSES,
        },
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[CompositionRequest, Body(title="Composition")],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
        idempotency: NamedDependency[Idempotency | None],
    ) -> Response[CompositionAccepted]:
        try:
            spec = to_spec(data)
        except JobError as exc:
            raise ApiError.of(exc) from exc
        submitted = await service.submit(
            spec, tenant, data.callback_url, prefix=COMPOSITION_PREFIX, quick=False, idempotency=idempotency
        )
        accepted = CompositionAccepted(
            composition_id=submitted.job_id,
            created_at=iso(submitted.submitted_at_ms / 1000),
            estimated_duration=math.ceil(submitted.estimate),
            websocket_url=composition_socket(request, submitted.job_id),
        )
        return Response(accepted, status_code=202, headers=replayed_headers(submitted.replayed))

    @get(
        "/{composition_id:str}",
        operation_class=EnvelopeOperation,
        summary="A composition's status",
        responses={404: UNKNOWN, **GUARD_RESPONSES},
    )
    async def status(
        self,
        composition_id: FromPath[str],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
    ) -> CompositionStatus:
        job = await own_composition(service, composition_id, tenant)
        return status_view(job, *service.result_urls(job))

    @get(
        "/{composition_id:str}/download",
        operation_class=EnvelopeOperation,
        status_code=307,
        summary="Redirect to the rendered video",
        description="307 to the video (a fresh presigned URL when S3_SIGNED_URLS is on).",
        responses={
            404: UNKNOWN,
            409: error_spec("The composition has not completed (CONFLICT); its status says why."),
            **GUARD_RESPONSES,
        },
    )
    async def download(
        self,
        composition_id: FromPath[str],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
    ) -> Redirect:
        job = await own_composition(service, composition_id, tenant)
        return Redirect(service.stored_url(job, f"{BASE}/{composition_id}"), status_code=307)

    @get(
        "/{composition_id:str}/metadata",
        operation_class=EnvelopeOperation,
        summary="A composition's processing metadata",
        description="Stage timings; once rendered, each input and the output as probed, and the "
        "encoder settings.",
        responses={404: UNKNOWN, **GUARD_RESPONSES},
    )
    async def metadata(
        self,
        composition_id: FromPath[str],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
    ) -> CompositionMetadata:
        job = await own_composition(service, composition_id, tenant)
        return metadata_view(job, *service.result_urls(job))
