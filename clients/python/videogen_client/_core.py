"""What the sync and async clients share: the retry policy, request bodies, answer parsing, and the
SSE and WebSocket message formats. Neither I/O nor sleeping happens here."""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, Field, TypeAdapter

from videogen_client.errors import (
    ApiError,
    JobFailedError,
    error_class,
    error_from_response,
    job_failed,
)
from videogen_client.models import (
    CompositionStatus,
    JobAccepted,
    JobCompleted,
    JobFailed,
    JobProcessing,
    WsMessage,
)

log = logging.getLogger("videogen_client")

API = "/api/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TERMINAL = frozenset({"completed", "failed", "cancelled"})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
WS_CLOSE_BASE = 4000  # the API closes a refused socket with 4000 + the HTTP status (4404, 4429)

Via = Literal["sse", "poll", "websocket"]
JobView = Annotated[JobCompleted | JobFailed | JobProcessing, Field(discriminator="status")]
"""GET /api/v1/videoresult/{id}, one SSE event or one WebSocket frame: the job as it is now."""
Submitted = JobCompleted | JobAccepted
"""POST /api/v1/videocreate: 200 with the result when rendered within the quick window, else 202."""
Body = BaseModel | Mapping[str, Any]
JobRef = str | JobAccepted | JobCompleted | JobFailed | JobProcessing
"""A job id, or any answer naming the job."""

JOB_VIEW: TypeAdapter[JobCompleted | JobFailed | JobProcessing] = TypeAdapter(JobView)


@dataclass(frozen=True)
class Retries:
    """Retry policy for 429 and 503 (which mean the API did not take the request) and, for requests
    safe to repeat, for network failures. A POST is repeated after a network failure only with an
    Idempotency-Key: without one the first may have made a job."""

    attempts: int = 4
    """Tries in all, the first included (1: never retry)."""
    backoff: float = 0.5
    """Seconds before the first retry when the API gave no Retry-After; doubled each time."""
    max_wait: float = 60.0
    """Longest single wait; an answer asking for longer is raised at once."""
    statuses: frozenset[int] = frozenset({429, 503})

    def delay(self, attempt: int, retry_after: float | None) -> float:
        return retry_after if retry_after is not None else self.backoff * 2 ** (attempt - 1)


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds: delta-seconds, or an HTTP date (RFC 9110 §10.2.3)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def response_wait(retries: Retries, attempt: int, response: httpx.Response) -> float | None:
    """Seconds to wait before trying again after this answer, or None to stop."""
    if response.status_code not in retries.statuses or attempt >= retries.attempts:
        return None
    wait = retries.delay(attempt, retry_after(response))
    if wait > retries.max_wait:
        return None
    log.info(
        "retrying %s %s in %.1f s after %d",
        response.request.method,
        response.request.url.path,
        wait,
        response.status_code,
    )
    return wait


def transport_wait(retries: Retries, attempt: int, request: httpx.Request, exc: Exception) -> float | None:
    """Seconds to wait before resending after a network failure, or None to raise it."""
    repeatable = request.method in IDEMPOTENT_METHODS or IDEMPOTENCY_HEADER in request.headers
    if not repeatable or attempt >= retries.attempts:
        return None
    wait = retries.delay(attempt, None)
    log.info("retrying %s %s in %.1f s after %s", request.method, request.url.path, wait, exc)
    return wait


def dump(body: Body) -> Any:
    """A request body as JSON-ready data: a model as it was built (unset fields left to the API's
    defaults), a mapping as it is."""
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dict(body)


def headers_for(idempotency_key: str | None) -> dict[str, str]:
    return {} if idempotency_key is None else {IDEMPOTENCY_HEADER: idempotency_key}


def job_path(job_id: str, tail: str = "") -> str:
    return f"{API}/videoresult/{quote(job_id, safe='')}{tail}"


def composition_path(composition_id: str, tail: str = "") -> str:
    return f"{API}/compositions/{quote(composition_id, safe='')}{tail}"


def template_path(template_id: str) -> str:
    return f"{API}/templates/{quote(template_id, safe='')}"


def job_id_of(job: JobRef) -> str:
    return job if isinstance(job, str) else job.job_id


def checked(response: httpx.Response) -> httpx.Response:
    if response.is_error:
        raise error_from_response(response)
    return response


def submitted(response: httpx.Response) -> JobCompleted | JobAccepted:
    checked(response)
    if response.status_code == 202:
        return JobAccepted.model_validate_json(response.content)
    return JobCompleted.model_validate_json(response.content)


def job_view(data: bytes | str) -> JobCompleted | JobFailed | JobProcessing:
    return JOB_VIEW.validate_json(data)


def sse_data(line: str) -> str | None:
    """The payload of an SSE `data:` line (each event's data is one line of JSON), else None."""
    if not line.startswith("data:"):
        return None
    return line[5:].removeprefix(" ")


def ws_frame_view(raw: str | bytes) -> JobCompleted | JobFailed | JobProcessing:
    """One frame of WS /ws/jobs/{id}: {"id", "event", "data"}, data being the GET's JSON."""
    return JOB_VIEW.validate_python(json.loads(raw)["data"])


def ws_message(raw: str | bytes) -> WsMessage:
    return WsMessage.model_validate_json(raw)


def ws_url(base_url: httpx.URL, path: str) -> str:
    scheme = "wss" if base_url.scheme == "https" else "ws"
    return str(base_url.copy_with(scheme=scheme, raw_path=(base_url.raw_path.rstrip(b"/") + path.encode())))


def ws_error(code: int | None, reason: str) -> ApiError | None:
    """The error a refused socket's close code stands for (4404: NotFoundError), or None."""
    if code is None or code < WS_CLOSE_BASE:
        return None
    status = code - WS_CLOSE_BASE
    return error_class(status)(reason or f"socket closed with {code}", status=status)


def finished(view: JobCompleted | JobFailed | JobProcessing) -> JobCompleted:
    """The completed result, or the typed error of a failed or cancelled job."""
    if isinstance(view, JobFailed):
        raise job_failed(view)
    if not isinstance(view, JobCompleted):
        raise ValueError(f"job {view.job_id} has not ended: {view.status}")
    return view


def composition_finished(status: CompositionStatus) -> CompositionStatus:
    if status.status == "completed":
        return status
    error = status.error
    raise JobFailedError(
        None,
        error.message if error else f"composition {status.status}",
        code=error.code if error else None,
        details={"composition_id": status.composition_id, "cause": error.cause if error else None},
    )


def same_origin(url: httpx.URL, base_url: httpx.URL) -> bool:
    return (url.scheme, url.host, url.port) == (base_url.scheme, base_url.host, base_url.port)


def download_target(path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def is_url(text: str) -> bool:
    return urlsplit(text).scheme in ("http", "https")
