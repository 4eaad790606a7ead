"""videogen's Python client, sync (`Client`) and async (`AsyncClient`), typed by models generated
from the API's own (`videogen_client.models`)."""

from videogen_client._core import JobRef, JobView, Retries, Submitted, Via
from videogen_client.aio import AsyncClient
from videogen_client.client import Client, JobState
from videogen_client.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    JobFailedError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnavailableError,
    VideogenError,
    WaitTimeoutError,
)

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "JobFailedError",
    "JobRef",
    "JobState",
    "JobView",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "Retries",
    "ServerError",
    "Submitted",
    "TransportError",
    "UnavailableError",
    "Via",
    "VideogenError",
    "WaitTimeoutError",
]
