"""One error envelope for every failure the API reports, with a PRD error code."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.spec import OpenAPIResponse, Operation, Reference, Schema
from pydantic import ValidationError

from schemas.errors import ErrorCode, JobError
from schemas.responses import ErrorBody, ErrorEnvelope
from streams.jsonlog import request_id_var

log = logging.getLogger(__name__)

HTTP_STATUS = {
    ErrorCode.INVALID_INPUT: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.IDEMPOTENCY_CONFLICT: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.QUEUE_FULL: 503,
    ErrorCode.SOURCE_DOWNLOAD_FAILED: 422,
    ErrorCode.NETWORK_TIMEOUT: 504,
    ErrorCode.PROCESSING_TIMEOUT: 504,
    ErrorCode.INSUFFICIENT_STORAGE: 507,
    ErrorCode.CANCELLED: 409,
    ErrorCode.S3_UPLOAD_FAILED: 502,
    ErrorCode.S3_ACCESS_DENIED: 502,
    ErrorCode.S3_BUCKET_NOT_FOUND: 502,
    ErrorCode.COMPOSITION_NOT_FOUND: 404,
    ErrorCode.INVALID_CLIP_FORMAT: 400,
    ErrorCode.INVALID_TIMELINE: 400,
    ErrorCode.PROCESSING_FAILED: 500,
    ErrorCode.STORAGE_ERROR: 503,
}


class ApiError(HTTPException):
    def __init__(
        self,
        code: ErrorCode,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=message, status_code=HTTP_STATUS.get(code, 500), headers=headers)
        self.code = code
        self.message = message
        self.details = details or {}

    @classmethod
    def of(cls, exc: JobError) -> ApiError:
        """A job's error, found before the job was queued, as the API's answer."""
        return cls(exc.code, exc.message, exc.details)


def envelope(code: ErrorCode, message: str, details: dict[str, Any] | None = None) -> ErrorEnvelope:
    return ErrorEnvelope(
        error=ErrorBody(
            code=code,
            message=message,
            details=details or {},
            request_id=request_id_var.get(),
            timestamp=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )
    )


def error_response(
    code: ErrorCode,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ErrorEnvelope]:
    return Response(envelope(code, message, details), status_code=HTTP_STATUS.get(code, 500), headers=headers)


def _field_path(key: str | None) -> str:
    return key or "body"


def on_validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[ErrorEnvelope]:
    fields = [
        {"field": _field_path(item.get("key")), "message": str(item.get("message", ""))}
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5]) or str(exc.detail)
    return error_response(ErrorCode.INVALID_INPUT, f"invalid request: {summary}", {"fields": fields})


def on_model_error(_: Request[Any, Any, Any], exc: ValidationError) -> Response[ErrorEnvelope]:
    """A pydantic model built from the request after Litestar's own validation (a filled template,
    a translated composition) refused it: the client's input, named by its path."""
    fields = [
        {"field": ".".join(map(str, error["loc"])) or "body", "message": error["msg"]}
        for error in exc.errors(include_url=False)
    ]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return error_response(ErrorCode.INVALID_INPUT, f"invalid request: {summary}", {"fields": fields})


def on_api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[ErrorEnvelope]:
    return error_response(exc.code, exc.message, exc.details, exc.headers)


def on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorEnvelope]:
    code = {
        404: ErrorCode.NOT_FOUND,
        413: ErrorCode.PAYLOAD_TOO_LARGE,
        401: ErrorCode.UNAUTHORIZED,
        403: ErrorCode.FORBIDDEN,
        429: ErrorCode.RATE_LIMITED,
        409: ErrorCode.CONFLICT,
    }.get(exc.status_code)
    if code is None:
        code = ErrorCode.INVALID_INPUT if 400 <= exc.status_code < 500 else ErrorCode.INTERNAL_ERROR
    return Response(envelope(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


def too_large_handler(
    limit: int,
) -> Callable[[Request[Any, Any, Any], HTTPException], Response[ErrorEnvelope]]:
    """The 413 answer, naming the configured limit."""

    def on_too_large(_: Request[Any, Any, Any], __: HTTPException) -> Response[ErrorEnvelope]:
        return error_response(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"request body exceeds {limit} bytes (MAX_REQUEST_BODY_BYTES); "
            "send media as source URLs, not inline data",
            {"limit_bytes": limit},
        )

    return on_too_large


def on_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[ErrorEnvelope]:
    log.error("unhandled error", exc_info=exc)
    return error_response(
        ErrorCode.INTERNAL_ERROR, "internal error; retry, and report the request_id if it persists"
    )


def _is_litestar_error(response: OpenAPIResponse | Reference) -> bool:
    """Litestar's own error body, `{status_code, detail, extra}`, which api/errors.py never answers with."""
    if not isinstance(response, OpenAPIResponse):
        return False
    for content in (response.content or {}).values():
        schema = content.schema
        if isinstance(schema, Schema) and "status_code" in (schema.properties or {}):
            return True
    return False


@dataclass
class EnvelopeOperation(Operation):
    """An operation documenting only the errors its route declares (each the envelope): Litestar's
    `{status_code, detail}` 400, added to every route with parameters, is dropped; a route that can
    answer 400 declares it in `responses`."""

    def __post_init__(self) -> None:
        if self.responses:
            self.responses = {code: r for code, r in self.responses.items() if not _is_litestar_error(r)}
