"""The Python client without a server: its models match the API's, and its retries, errors, event
streams and downloads behave, against httpx's MockTransport."""

from __future__ import annotations

import ast
import email.utils
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from videogen_client import (
    AsyncClient,
    BadRequestError,
    Client,
    JobFailedError,
    NotFoundError,
    RateLimitedError,
    Retries,
    TransportError,
    UnavailableError,
)
from videogen_client._core import retry_after, ws_error, ws_url
from videogen_client.models import JobAccepted, JobCompleted, JobProcessing, VideoCreateRequest

from schemas.client_models import MODELS_PATH, render_client_models
from schemas.requests import VideoCreateRequest as ServerRequest

BASE = "http://api.test"
FAST = Retries(attempts=3, backoff=0.0)
SPEC = {"width": 64, "height": 64, "duration": 1, "elements": [{"type": "color", "color": "#ff0000"}]}
RESULT_URL = "http://s3.test/videogen/processed/video.mp4"
COMPLETED = {
    "status": "completed",
    "job_id": "vg_0123456789ab",
    "result_url": RESULT_URL,
    "processing_time": "1.0 seconds",
    "processing_time_seconds": 1.0,
    "file_size": "1.0KB",
    "file_size_bytes": 1024,
    "duration": "1.0 seconds",
    "duration_seconds": 1.0,
    "width": 64,
    "height": 64,
    "output_format": "mp4",
}
PROCESSING = {
    "status": "processing",
    "job_id": "vg_0123456789ab",
    "progress": "50%",
    "progress_percent": 50.0,
    "current_step": "rendering",
    "elapsed_seconds": 1.0,
}


def envelope(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "details": details, "timestamp": "2026-01-01T00:00:00Z"}
    }


def client_for(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> Client:
    return Client(BASE, transport=httpx.MockTransport(handler), retries=FAST, **kwargs)


def test_committed_models_are_generated_from_the_api_models() -> None:
    """Compared as syntax trees, so a formatter's version cannot fail it; any model change does."""
    committed = ast.dump(ast.parse(MODELS_PATH.read_text()))
    assert committed == ast.dump(ast.parse(render_client_models())), "run `videogen client-models`"


def test_a_spec_built_with_the_client_models_is_what_the_api_validates() -> None:
    spec = VideoCreateRequest.model_validate(SPEC)
    body = spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert body == SPEC
    assert ServerRequest.model_validate(body).width == 64


def test_a_429_is_retried_after_its_retry_after_and_a_post_keeps_its_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(
                429, headers={"Retry-After": "0"}, json=envelope("RATE_LIMITED", "slow down")
            )
        return httpx.Response(202, json=accepted())

    with client_for(handler, api_key="k1") as client:
        answer = client.submit(SPEC, idempotency_key="key-1")
    assert isinstance(answer, JobAccepted) and answer.job_id == "vg_0123456789ab"
    assert len(seen) == 2
    assert all(r.headers["Idempotency-Key"] == "key-1" for r in seen)
    assert all(r.headers["Authorization"] == "Bearer k1" for r in seen)
    assert orjson.loads(seen[1].content) == SPEC


def accepted() -> dict[str, Any]:
    return {
        "status": "processing",
        "job_id": "vg_0123456789ab",
        "message": "follow it",
        "estimated_completion": "2026-01-01T00:00:10Z",
        "estimated_seconds": 10.0,
        "status_check_endpoint": "/api/v1/videoresult/vg_0123456789ab",
        "events_endpoint": "/api/v1/videoresult/vg_0123456789ab/events",
    }


def test_retries_are_bounded_and_the_last_answer_is_raised_typed() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, headers={"Retry-After": "0"}, json=envelope("QUEUE_FULL", "queue full"))

    with client_for(handler) as client, pytest.raises(UnavailableError) as raised:
        client.submit(SPEC)
    assert calls == FAST.attempts
    assert (raised.value.code, raised.value.status, raised.value.message) == ("QUEUE_FULL", 503, "queue full")


def test_a_retry_after_longer_than_max_wait_is_raised_at_once() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, headers={"Retry-After": "3600"}, json=envelope("RATE_LIMITED", "later"))

    with client_for(handler) as client, pytest.raises(RateLimitedError):
        client.status("vg_0123456789ab")
    assert calls == 1


def test_retry_after_as_an_http_date() -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    wait = retry_after(httpx.Response(429, headers={"Retry-After": later}))
    assert wait is not None and 28 <= wait <= 31
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    assert retry_after(httpx.Response(429)) is None


def test_a_post_without_a_key_is_not_resent_after_a_network_failure() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadError("connection reset")

    with client_for(handler) as client:
        with pytest.raises(TransportError):
            client.submit(SPEC)
        assert calls == ["POST"]
        with pytest.raises(TransportError):
            client.submit(SPEC, idempotency_key="k")
        assert calls == ["POST"] * (1 + FAST.attempts)
        calls.clear()
        with pytest.raises(TransportError):
            client.status("vg_0123456789ab")
        assert calls == ["GET"] * FAST.attempts


def test_an_error_answer_is_its_typed_error_with_code_message_and_details() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json=envelope("INVALID_INPUT", "bad width", fields=[{"field": "width"}]))

    with client_for(handler) as client, pytest.raises(BadRequestError) as raised:
        client.submit(SPEC)
    assert raised.value.code == "INVALID_INPUT"
    assert raised.value.details == {"fields": [{"field": "width"}]}
    assert raised.value.status == 400


def test_submit_types_the_quick_answer_and_wait_returns_it() -> None:
    with client_for(lambda r: httpx.Response(200, json=COMPLETED)) as client:
        answer = client.submit(SPEC)
        assert isinstance(answer, JobCompleted)
        assert client.wait(answer) is answer


def test_follow_by_events_yields_typed_states_to_the_callback() -> None:
    stream = "".join(
        f"event: {s['status']}\ndata: {orjson.dumps(s).decode()}\nid: {i}\n\n"
        for i, s in enumerate((PROCESSING, COMPLETED), 1)
    )

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/videoresult/vg_0123456789ab/events"
        return httpx.Response(200, text=stream, headers={"content-type": "text/event-stream"})

    seen: list[object] = []
    with client_for(handler) as client:
        states = list(client.follow("vg_0123456789ab", on_progress=seen.append))
    assert [type(s) for s in states] == [JobProcessing, JobCompleted]
    assert seen == states


def test_wait_raises_a_failed_job_as_job_failed_error() -> None:
    failed = {
        "status": "failed",
        "job_id": "vg_0123456789ab",
        "error": "SOURCE_DOWNLOAD_FAILED",
        "message": "404 from the source",
        "details": {"url": "http://x"},
        "processing_time": "1.0 seconds",
        "processing_time_seconds": 1.0,
    }
    answers = iter([PROCESSING, failed])
    with (
        client_for(lambda r: httpx.Response(200, json=next(answers))) as client,
        pytest.raises(JobFailedError) as raised,
    ):
        client.wait("vg_0123456789ab", interval=0.0)
    assert raised.value.code == "SOURCE_DOWNLOAD_FAILED"
    assert raised.value.details == {"url": "http://x", "job_id": "vg_0123456789ab"}


def test_download_sends_the_key_to_the_api_only(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.test":
            return httpx.Response(307, headers={"Location": RESULT_URL})
        return httpx.Response(200, content=b"video bytes")

    with client_for(handler, api_key="secret") as client:
        path = client.download(JobCompleted.model_validate(COMPLETED), tmp_path / "a" / "out.mp4")
        assert path.read_bytes() == b"video bytes"
        client.download(RESULT_URL, tmp_path / "b.mp4")
    assert [r.url.host for r in seen] == ["api.test", "s3.test", "s3.test"]
    assert seen[0].url.path == "/api/v1/videoresult/vg_0123456789ab/download"
    assert "authorization" in seen[0].headers
    assert not any("authorization" in r.headers for r in seen[1:])


async def test_the_async_client_retries_a_429_too() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(429, headers={"Retry-After": "0"}, json=envelope("RATE_LIMITED", "wait"))
        return httpx.Response(200, json=PROCESSING)

    seen: list[object] = []

    async def record(state: object) -> None:
        seen.append(state)

    async with AsyncClient(BASE, transport=httpx.MockTransport(handler), retries=FAST) as client:
        state = await client.status("vg_0123456789ab")
        assert isinstance(state, JobProcessing)
        async for followed in client.follow("vg_0123456789ab", via="poll", on_progress=record, interval=0):
            assert followed == state
            break
    assert calls == 3 and seen == [state]


def test_socket_urls_and_refusals() -> None:
    assert ws_url(httpx.URL("http://127.0.0.1:8000"), "/ws/jobs/vg_1") == "ws://127.0.0.1:8000/ws/jobs/vg_1"
    assert ws_url(httpx.URL("https://api.test/v/"), "/ws/jobs/vg_1") == "wss://api.test/v/ws/jobs/vg_1"
    refused = ws_error(4404, "job not found")
    assert isinstance(refused, NotFoundError) and refused.status == 404
    assert ws_error(1000, "job ended") is None
