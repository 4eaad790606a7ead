"""The Litestar application: routes, error envelope, request ids, OpenAPI, and the Kafka clients
(publisher and job store) that live as long as the app."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components
from litestar.response import Redirect
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from analytics.estimator import LearningEstimator
from api.auth import KeyRing, warn_if_open
from api.errors import (
    ApiError,
    on_api_error,
    on_http_error,
    on_too_large,
    on_unexpected,
    on_validation_error,
)
from api.health import health, health_detailed
from api.jobstore import JobStore
from api.metrics import metrics_handler
from api.openapi import SECURITY_SCHEMES, StrictPydanticSchemaPlugin, video_routes
from api.publisher import JobPublisher
from api.ratelimit import RateLimiter
from schemas.settings import Settings, get_settings
from streams.jsonlog import request_id_var

REQUEST_ID_HEADER = "x-request-id"


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Take the caller's X-Request-ID (or make one), tag every log line with it, echo it back."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")[:128]
        request_id = given or uuid.uuid4().hex
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)

    return middleware


@get("/redoc", include_in_schema=False)
async def redoc_redirect() -> Redirect:
    return Redirect("/docs/redoc")


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    keys = KeyRing.from_settings(settings)
    warn_if_open(keys)

    @asynccontextmanager
    async def kafka_clients(app: Litestar) -> AsyncIterator[None]:
        publisher, jobs = JobPublisher(settings), JobStore(settings)
        estimator = LearningEstimator.from_settings(settings)
        await publisher.start()
        await jobs.start()
        await estimator.refresh()
        app.state.publisher, app.state.jobs, app.state.estimator = publisher, jobs, estimator
        try:
            yield
        finally:
            await estimator.close()
            await jobs.stop()
            await publisher.stop()

    handlers: dict[Any, Any] = {
        ValidationException: on_validation_error,
        ApiError: on_api_error,
        RequestEntityTooLarge: on_too_large,
        HTTPException: on_http_error,
        Exception: on_unexpected,
    }
    return Litestar(
        route_handlers=[
            video_routes(not keys.open),
            health,
            health_detailed,
            metrics_handler,
            redoc_redirect,
        ],
        lifespan=[kafka_clients],
        exception_handlers=handlers,
        middleware=[request_id_middleware],
        plugins=[StrictPydanticSchemaPlugin()],
        request_max_body_size=settings.max_request_body_bytes,
        logging_config=None,
        state=State(
            {
                "settings": settings,
                "key_ring": keys,
                "rate_limiter": RateLimiter(settings.rate_limit_per_minute),
            }
        ),
        openapi_config=OpenAPIConfig(
            title="videogen",
            version="0.1.0",
            description="Video composition API: post a JSON spec, get a rendered video URL.",
            path="/docs",
            components=Components(security_schemes=SECURITY_SCHEMES),
            render_plugins=[SwaggerRenderPlugin(path="/"), RedocRenderPlugin(path="/redoc")],
        ),
    )
