"""Seed 002's prompt-to-video jobs: `POST /api/videos/generate` and `GET /api/videos/{jobId}`.

Thin controllers: the configured generator (generator/) turns the prompt into a spec, which is
submitted through the same JobService as any job, never waited on (201 queued); the prompt, style,
duration and aspect ratio ride on the job's accepted event, so any instance can show them back.
Only ids these routes made (`prompt_…`) are prompt jobs. Every answer, refusals included (400,
401, 403, 404, 413, 429, 503, 500), is in the seed's `{"success": ...}` shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath

from api.auth import current_tenant
from api.compositions import created_at
from api.errors import ApiError, EnvelopeOperation
from api.idempotency import REPLAYED_DOC, Idempotency, replayed_headers
from api.jobservice import JobService
from api.routes import IDEMPOTENCY_CONFLICT, IDEMPOTENCY_UNAVAILABLE
from generator import PromptGenerator
from schemas.errors import ErrorCode, JobError
from schemas.events import JobOrigin, JobState, PromptInfo
from schemas.prompts import (
    PromptCreated,
    PromptFailure,
    PromptJob,
    PromptJobCreated,
    PromptJobFound,
    PromptVideoRequest,
)
from schemas.responses import ErrorEnvelope
from schemas.views import iso

BASE = "/api/videos"
PROMPT_PREFIX = "prompt_"
SeedStatus = Literal["queued", "processing", "completed", "failed"]
STATUSES: dict[str, SeedStatus] = {"queued": "queued", "processing": "processing", "completed": "completed"}

Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]


def _failure(description: str) -> ResponseSpec:
    return ResponseSpec(PromptFailure, generate_examples=False, description=description)


def in_seed_shape(handlers: dict[Any, Handler]) -> dict[Any, Handler]:
    """The app's error handlers, answering under /api/videos in the seed's `success: false` shape."""

    def shaped(handler: Handler) -> Handler:
        def handle(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
            response = handler(request, exc)
            if not request.url.path.startswith(f"{BASE}/") or not isinstance(response.content, ErrorEnvelope):
                return response
            failure = PromptFailure(error=response.content.error)
            return Response(failure, status_code=response.status_code, headers=response.headers)

        return handle

    return {kind: shaped(handler) for kind, handler in handlers.items()}


def prompt_job(state: JobState, prompt: PromptInfo, video_url: str | None) -> PromptJob:
    error = state.error.message if state.error else "the job was cancelled"
    return PromptJob(
        jobId=state.job_id,
        status=STATUSES.get(state.status, "failed"),  # a cancelled job has failed, to the seed
        videoUrl=video_url if state.status == "completed" else None,
        errorMessage=error if state.status in ("failed", "cancelled") else None,
        prompt=prompt.prompt,
        style=prompt.style,
        duration=prompt.duration,
        aspectRatio=prompt.aspect_ratio,
        createdAt=created_at(state),
        updatedAt=iso(state.updated_at),
    )


class PromptController(Controller):
    path = BASE
    tags = ["prompt to video"]
    dependencies = {"tenant": Provide(current_tenant, sync_to_thread=False)}

    @post(
        "/generate",
        operation_class=EnvelopeOperation,
        status_code=201,
        summary="Generate a video from a prompt",
        description="A job rendering the prompt at the style, duration and aspect ratio asked; follow it "
        "with GET /api/videos/{jobId} (or WS /ws/jobs/{jobId}). With an Idempotency-Key, a retry "
        "answers with the first request's job.",
        response_headers=[REPLAYED_DOC],
        responses={
            400: _failure(
                "Invalid prompt (blank, or punctuation only), style, duration or aspectRatio "
                "(INVALID_INPUT, naming each)."
            ),
            401: _failure("No or invalid API key, or two that disagree (UNAUTHORIZED)."),
            409: _failure(IDEMPOTENCY_CONFLICT),
            413: _failure(
                "Body larger than MAX_REQUEST_BODY_BYTES, or the job larger than one Kafka message "
                "(PAYLOAD_TOO_LARGE)."
            ),
            429: _failure("The tenant's rate limit or jobs-in-flight cap is reached (RATE_LIMITED)."),
            503: _failure(f"Too many jobs waiting (QUEUE_FULL, Retry-After). {IDEMPOTENCY_UNAVAILABLE}"),
        },
    )
    async def generate(
        self,
        data: Annotated[PromptVideoRequest, Body(title="Prompt")],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
        generator: NamedDependency[PromptGenerator],
        idempotency: NamedDependency[Idempotency | None],
    ) -> Response[PromptCreated]:
        submitted = await service.replay(idempotency, tenant)  # before the generator: it may call a model
        if submitted is None:
            prompt = PromptInfo(
                prompt=data.prompt, style=data.style, duration=data.duration, aspect_ratio=data.aspectRatio
            )
            try:
                spec = await generator.spec(prompt)
            except JobError as exc:
                raise ApiError.of(exc) from exc
            origin = JobOrigin(prompt=prompt)
            submitted = await service.submit(
                spec, tenant, None, prefix=PROMPT_PREFIX, quick=False, origin=origin, idempotency=idempotency
            )
        created = PromptCreated(data=PromptJobCreated(jobId=submitted.job_id))
        return Response(created, status_code=201, headers=replayed_headers(submitted.replayed))

    @get(
        "/{jobId:str}",
        operation_class=EnvelopeOperation,
        summary="A prompt job",
        responses={
            401: _failure("No or invalid API key (UNAUTHORIZED)."),
            403: _failure("Another tenant's job (FORBIDDEN)."),
            404: _failure("No such prompt job (NOT_FOUND)."),
            429: _failure("The tenant's rate limit is reached (RATE_LIMITED)."),
        },
    )
    async def read(
        self, jobId: FromPath[str], service: NamedDependency[JobService], tenant: NamedDependency[str | None]
    ) -> PromptJobFound:
        job = await service.jobs.get(jobId) if jobId.startswith(PROMPT_PREFIX) else None
        prompt = job.origin.prompt if job is not None and job.origin is not None else None
        if job is None or prompt is None:
            raise ApiError(
                ErrorCode.NOT_FOUND, f"no job {jobId!r}; check the jobId POST {BASE}/generate returned"
            )
        if tenant is not None and job.tenant != tenant:
            raise ApiError(ErrorCode.FORBIDDEN, f"job {jobId!r} belongs to another user")
        return PromptJobFound(data=prompt_job(job, prompt, service.result_urls(job)[0]))
