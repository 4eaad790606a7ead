"""The shared retry policy (media.retry) and the loops built on it: callbacks, uploads, topic creation."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tenacity import RetryCallState, Retrying

import agents.callbacks as callbacks
import storage.s3 as storage
import streams.admin as admin
from media.retry import async_retrying, backoff, retrying
from schemas.errors import ErrorCode, JobError
from schemas.events import JobResult
from schemas.settings import Settings


def _state(attempt: int) -> RetryCallState:
    state = RetryCallState(Retrying(), None, (), {})
    state.attempt_number = attempt
    return state


def test_backoff_doubles_up_to_the_cap_with_jitter_of_at_most_one_first_delay() -> None:
    wait = backoff(0.5, 4.0)
    for attempt, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (9, 4.0)]:
        delays = {wait(_state(attempt)) for _ in range(50)}
        assert all(base <= d <= base + 0.5 for d in delays), (attempt, delays)
        assert len(delays) > 1  # jittered
    assert {backoff(0, 30)(_state(n)) for n in range(1, 6)} == {0}


def test_retries_only_what_the_predicate_accepts_and_reraises_the_last() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("dropped")
        return "ok"

    def retrier(attempts: int, retry_on: Any) -> Any:
        return retrying(attempts=attempts, first_delay=0, cap=1, retry_on=retry_on, what="thing")

    assert retrier(3, lambda e: isinstance(e, ConnectionError))(flaky) == "ok"
    calls.clear()
    with pytest.raises(ConnectionError):
        retrier(2, lambda e: isinstance(e, ConnectionError))(flaky)
    assert len(calls) == 2
    calls.clear()
    with pytest.raises(ConnectionError):
        retrier(5, lambda e: False)(flaky)
    assert len(calls) == 1


async def test_waits_are_logged_as_warnings_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[int] = []

    async def fails_once() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("reset by https://user:pw@cdn.example.com/a.mp4?X-Amz-Signature=topsecret")

    caplog.set_level(logging.WARNING, logger="media.retry")
    await async_retrying(attempts=2, first_delay=0, cap=0, retry_on=lambda e: True, what="download")(
        fails_once
    )
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "download failed (attempt 1 of 2)" in caplog.text
    assert "https://cdn.example.com/a.mp4" in caplog.text
    assert "topsecret" not in caplog.text and "pw@" not in caplog.text


# --- callbacks -------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[int]]]:
    """A callback receiver answering the statuses in `script` in turn (then 200); yields its URL."""
    script: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(script.pop(0) if script else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def _result(url: str) -> JobResult:
    return JobResult(job_id="vg_1", status="completed", processing_time_seconds=1.0, callback_url=url)


def _callback_settings(retries: int = 4) -> Settings:
    return Settings(_env_file=None, allow_private_sources=True, callback_retries=retries)


@pytest.fixture(autouse=True)
def _no_callback_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(callbacks, "BACKOFF_SECONDS", 0)


async def test_callback_5xx_and_429_are_retried_until_delivered(receiver: tuple[str, list[int]]) -> None:
    url, script = receiver
    script.extend([503, 429])
    delivery = await callbacks.deliver(url, _result(url), None, _callback_settings())
    assert delivery.delivered and delivery.attempts == 3 and delivery.status_code == 200


async def test_callback_4xx_is_final(receiver: tuple[str, list[int]]) -> None:
    url, script = receiver
    script.extend([404, 200])
    delivery = await callbacks.deliver(url, _result(url), None, _callback_settings())
    assert not delivery.delivered and delivery.attempts == 1 and delivery.status_code == 404


async def test_callback_gives_up_after_its_retries(receiver: tuple[str, list[int]]) -> None:
    url, script = receiver
    script.extend([500] * 10)
    delivery = await callbacks.deliver(url, _result(url), None, _callback_settings(retries=3))
    assert not delivery.delivered and delivery.attempts == 3 and delivery.status_code == 500


async def test_callback_network_errors_are_retried_and_reported() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    delivery = await callbacks.deliver(
        f"http://127.0.0.1:{port}/hook", _result("hook"), None, _callback_settings(2)
    )
    assert not delivery.delivered and delivery.attempts == 2
    assert delivery.status_code is None and delivery.error == "ConnectError"


# --- uploads (against moto: tests/unit/test_storage_s3.py) ------------------------------


class FakeS3:
    """Fails `upload_file` with the given errors in turn, and reports `stored` bytes on HEAD."""

    def __init__(self, *errors: Exception, stored: list[int] | None = None) -> None:
        self.errors = list(errors)
        self.stored = stored or []
        self.uploads = 0

    def upload_file(self, *args: Any, **kwargs: Any) -> None:
        self.uploads += 1
        if self.errors:
            raise self.errors.pop(0)

    def head_object(self, **kwargs: Any) -> dict[str, Any]:
        return {"ContentLength": self.stored.pop(0)}


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutObject")


@pytest.fixture
def upload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    path = tmp_path / "out.mp4"
    path.write_bytes(b"x" * 100)
    monkeypatch.setattr(storage, "UPLOAD_BACKOFF_SECONDS", 0)
    settings = Settings(_env_file=None, upload_retries=3)

    def run(fake: FakeS3) -> int:
        monkeypatch.setattr(storage, "s3_client", lambda _settings: fake)
        return storage.upload_file(settings, path, "processed/k.mp4", "mp4")

    return run


@pytest.mark.parametrize(
    ("code", "expected"),
    [("AccessDenied", ErrorCode.S3_ACCESS_DENIED), ("NoSuchBucket", ErrorCode.S3_BUCKET_NOT_FOUND)],
)
def test_refused_uploads_are_not_retried(upload: Any, code: str, expected: ErrorCode) -> None:
    fake = FakeS3(_client_error(code))
    with pytest.raises(JobError) as caught:
        upload(fake)
    assert caught.value.code == expected and fake.uploads == 1


def test_a_short_stored_object_is_uploaded_again(upload: Any) -> None:
    fake = FakeS3(stored=[60, 100])
    assert upload(fake) == 100 and fake.uploads == 2


def test_upload_gives_up_after_its_attempts_without_a_last_wait(
    upload: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeS3(*[_client_error("InternalError")] * 5)
    waits: list[float] = []
    real = storage.retrying
    monkeypatch.setattr(storage, "UPLOAD_BACKOFF_SECONDS", 1.0)
    monkeypatch.setattr(storage, "retrying", lambda **kwargs: real(**kwargs, sleep=waits.append))
    with pytest.raises(JobError) as caught:
        upload(fake)
    assert caught.value.code == ErrorCode.S3_UPLOAD_FAILED and fake.uploads == 3
    assert len(waits) == 2 and 1.0 <= waits[0] <= 2.0 and 2.0 <= waits[1] <= 3.0  # between attempts only


# --- topic creation --------------------------------------------------------------------


async def test_topic_creation_waits_for_the_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    starts: list[int] = []

    class Admin:
        def __init__(self, **kwargs: Any) -> None:
            pass

        async def start(self) -> None:
            starts.append(1)
            if len(starts) < 3:
                raise OSError("connection refused")

        async def list_topics(self) -> list[str]:
            return list(admin.ALL_TOPICS)

        async def close(self) -> None:
            pass

    monkeypatch.setattr(admin, "AIOKafkaAdminClient", Admin)
    monkeypatch.setattr(admin, "RETRY_SECONDS", 0)
    settings = Settings(_env_file=None, kafka_bootstrap_servers="127.0.0.1:1")
    await admin.ensure_topics(settings, attempts=5)
    assert len(starts) == 3
    starts.clear()
    with pytest.raises(OSError):
        await admin.ensure_topics(settings, attempts=2)
    assert len(starts) == 2


async def test_cancelling_a_retry_wait_stops_it() -> None:
    async def down() -> None:
        raise ConnectionError

    task: asyncio.Task[None] = asyncio.create_task(
        async_retrying(attempts=None, first_delay=60, cap=60, retry_on=lambda e: True, what="x")(down)
    )
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
