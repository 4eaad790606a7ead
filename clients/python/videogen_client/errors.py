"""One exception hierarchy: every failure the client reports is a `VideogenError` carrying the API's
error `code`, `message`, `details` and the HTTP `status` (when there was an answer)."""

from __future__ import annotations

from typing import Any

import httpx

from videogen_client.models import ErrorEnvelope, JobFailed


class VideogenError(Exception):
    """Base of every client error. `code` is the API's error code (`INVALID_INPUT`, ...), or None
    when no API answer said one (a network failure, a proxy's HTML page)."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.status = status
        self.request_id = request_id


class ApiError(VideogenError):
    """The API answered with an error status."""


class BadRequestError(ApiError):
    """400: the body is invalid; `details["fields"]` names each field."""


class AuthenticationError(ApiError):
    """401: no API key, an unknown one, or two that disagree."""


class NotFoundError(ApiError):
    """404: unknown job, template or composition, or another tenant's."""


class ConflictError(ApiError):
    """409: the job already ended or was cancelled, or an Idempotency-Key was reused with another body."""


class PayloadTooLargeError(ApiError):
    """413: the body, or the job it makes, is larger than the API takes."""


class RateLimitedError(ApiError):
    """429: the tenant's rate limit or jobs-in-flight cap (after the client's retries)."""


class ServerError(ApiError):
    """5xx: the render, the storage or the API itself failed."""


class UnavailableError(ServerError):
    """503: the queue is full or the Idempotency-Key could not be recorded (after the client's retries)."""


class JobFailedError(VideogenError):
    """A job (or composition) ended failed or cancelled; `job` is its final answer when there is one."""

    def __init__(
        self, job: JobFailed | None, message: str, *, code: str | None, details: dict[str, Any]
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.job = job


class WaitTimeoutError(VideogenError, TimeoutError):
    """The job did not end within the time `wait` was given (it goes on running)."""


class TransportError(VideogenError):
    """The request could not be sent or answered (connection refused, timeout, closed stream)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitedError,
    503: UnavailableError,
}


def error_class(status: int) -> type[ApiError]:
    return _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)


def error_from_response(response: httpx.Response) -> ApiError:
    """The typed error for an error answer: the API's envelope when it is one, else the text."""
    try:
        body = ErrorEnvelope.model_validate_json(response.content).error
    except ValueError:
        text = response.text.strip()[:500] or response.reason_phrase
        return error_class(response.status_code)(text, status=response.status_code)
    return error_class(response.status_code)(
        body.message,
        code=body.code,
        details=body.details,
        status=response.status_code,
        request_id=body.request_id,
    )


def job_failed(job: JobFailed) -> JobFailedError:
    return JobFailedError(
        job, job.message, code=job.error, details={**(job.details or {}), "job_id": job.job_id}
    )
