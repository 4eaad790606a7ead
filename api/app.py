"""The Litestar application: routes, guards, error envelope, request ids, OpenAPI, and the job
service (Kafka clients, estimator) and prompt generator that live as long as the app and are
injected into handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, get
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components
from litestar.response import Redirect
from pydantic import ValidationError

from api.auth import Authenticator, InternalAuthenticator, KeyRing, warn_if_open
from api.bounds import BoundedRequest
from api.errors import (
    ApiError,
    on_api_error,
    on_http_error,
    on_model_error,
    on_unexpected,
    on_validation_error,
    too_large_handler,
)
from api.guide_routes import guide_files
from api.health import health, health_detailed
from api.idempotency import request_idempotency
from api.internal_routes import internal_routes
from api.jobservice import JobService
from api.metrics import metrics_handler
from api.openapi import SECURITY_SCHEMES, StrictPydanticSchemaPlugin, openapi_json, video_routes
from api.progress import composition_progress, job_progress
from api.prompt_routes import in_seed_shape
from api.ratelimit import RateLimit
from api.requestid import with_request_id
from api.studio_routes import root_redirect, studio_files
from api.tracing import tracing_plugins
from generator import PromptGenerator, prompt_generator
from media.preview import PreviewService
from schemas.settings import Settings, get_settings


@get("/redoc", include_in_schema=False)
async def redoc_redirect() -> Redirect:
    return Redirect("/docs/redoc")


def create_app(settings: Settings | None = None, service: JobService | None = None) -> Litestar:
    """The app; `service` replaces the Kafka-backed job service (tests)."""
    settings = settings or get_settings()
    keys = KeyRing.from_settings(settings)
    warn_if_open(keys)
    job_service = service or JobService.from_settings(settings)
    generator = prompt_generator(settings)
    authenticator, rate_limit = Authenticator(keys), RateLimit(job_service.limiter)
    previews = PreviewService(settings)

    @asynccontextmanager
    async def kafka_clients(_: Litestar) -> AsyncIterator[None]:
        await job_service.start()
        try:
            yield
        finally:
            await job_service.stop()

    def provide_service() -> JobService:
        return job_service

    def provide_authenticator() -> Authenticator:
        return authenticator

    def provide_rate_limit() -> RateLimit:
        return rate_limit

    def provide_generator() -> PromptGenerator:
        return generator

    def provide_previews() -> PreviewService:
        return previews

    handlers: dict[Any, Any] = in_seed_shape(
        {
            ValidationException: on_validation_error,
            ValidationError: on_model_error,
            ApiError: on_api_error,
            RequestEntityTooLarge: too_large_handler(settings.max_request_body_bytes),
            HTTPException: on_http_error,
            Exception: on_unexpected,
        }
    )
    app = Litestar(
        route_handlers=[
            video_routes(not keys.open, [authenticator, rate_limit]),
            internal_routes(InternalAuthenticator(KeyRing.internal(settings))),
            job_progress,
            composition_progress,
            health,
            health_detailed,
            metrics_handler,
            redoc_redirect,
            openapi_json,
            root_redirect,
            studio_files,
            guide_files(),
        ],
        dependencies={
            "service": Provide(provide_service, use_cache=True, sync_to_thread=False),
            "authenticator": Provide(provide_authenticator, use_cache=True, sync_to_thread=False),
            "rate_limit": Provide(provide_rate_limit, use_cache=True, sync_to_thread=False),
            "generator": Provide(provide_generator, use_cache=True, sync_to_thread=False),
            "previews": Provide(provide_previews, use_cache=True, sync_to_thread=False),
            "idempotency": Provide(request_idempotency),  # the POSTs that create jobs
        },
        lifespan=[kafka_clients],
        exception_handlers=handlers,
        plugins=[StrictPydanticSchemaPlugin(), *tracing_plugins()],
        request_class=BoundedRequest,
        request_max_body_size=settings.max_request_body_bytes,
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="videogen",
            version="0.1.0",
            description="Video composition API: post a JSON spec, get a rendered video URL.",
            path="/docs",
            components=Components(security_schemes=SECURITY_SCHEMES),
            render_plugins=[SwaggerRenderPlugin(path="/"), RedocRenderPlugin(path="/redoc")],
        ),
    )
    app.asgi_handler = with_request_id(app.asgi_handler)
    return app
