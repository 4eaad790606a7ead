"""`WS /ws/jobs/{job_id}` in process: the real job store fold and subscriptions, Kafka replaced
by a store that is fed by hand; the same messages as SSE, close codes a browser can read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from api.app import create_app
from api.jobservice import JobService
from api.jobstore import JobStore
from api.ratelimit import RateLimiter
from api.templatestore import TemplateStore
from schemas.events import JobAccepted, JobEvent, JobState, ResultInfo, StageProgress, job_ended
from schemas.settings import Settings
from storage.jobrecords import IndexEntry, JobRecords
from streams.jsonlog import redact

RESULT = ResultInfo(
    result_url="http://s3.test/videogen/processed/video_vg_1.mp4",
    s3_key="processed/video_vg_1.mp4",
    file_size_bytes=10,
    duration_seconds=1.0,
    width=2,
    height=2,
    output_format="mp4",
)


class NoRecords(JobRecords):
    """A bucket holding no job records."""

    def __init__(self) -> None: ...

    def put(self, state: JobState, *, indexed: bool = True) -> None: ...

    def get(self, job_id: str) -> JobState | None:
        return None

    def entries(self, prefix: str, after: str | None, count: int) -> list[IndexEntry]:
        return []


class LocalStore(JobStore):
    """The real fold and watchers; events come from `push`, not from Kafka; no records."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, NoRecords())

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def catch_up(self, timeout: float = 0.0) -> bool:
        return True

    def push(self, event: JobEvent) -> None:
        self._fold(event)


class LocalTemplates(TemplateStore):
    """The real template fold; records come from `fold`, not from Kafka."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def catch_up(self, timeout: float = 0.0) -> bool:
        return True


class NoPublisher:
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class NoEstimator:
    async def refresh(self) -> None: ...

    async def close(self) -> None: ...


def _accepted() -> JobEvent:
    return JobAccepted(job_id="vg_1", tenant="alpha")  # a job's events begin with its acceptance


def _progress(percent: float) -> JobEvent:
    return StageProgress(
        job_id="vg_1", tenant="alpha", stage="render", progress_percent=percent, current_step="rendering"
    )


def _completed() -> JobEvent:
    return job_ended("vg_1", "completed", "notify", 1.0, tenant="alpha", result=RESULT)[0]


def _stack(per_minute: int = 0) -> Iterator[tuple[TestClient[Any], LocalStore]]:
    settings = Settings(api_keys="alpha:ka,beta:kb", kafka_bootstrap_servers="unused:9092")
    store = LocalStore(settings)
    limiter = RateLimiter(per_minute)
    service = JobService(settings, store, NoPublisher(), NoEstimator(), limiter, LocalTemplates(settings))  # type: ignore[arg-type]
    with TestClient(create_app(settings, service)) as client:
        yield client, store


@pytest.fixture()
def stack() -> Iterator[tuple[TestClient[Any], LocalStore]]:
    yield from _stack()


def _push(client: TestClient[Any], store: LocalStore, event: JobEvent) -> None:
    client.blocking_portal.call(store.push, event)  # on the app's loop, as the Kafka reader would


def _closed(socket: Any) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as closed:
        socket.receive_json(timeout=5)
    return closed.value


def test_progress_in_order_then_the_terminal_message_then_a_normal_close(
    stack: tuple[TestClient[Any], LocalStore],
) -> None:
    client, store = stack
    _push(client, store, _accepted())
    with (
        client.websocket_connect("/ws/jobs/vg_1", headers={"X-API-Key": "ka"}) as first,
        client.websocket_connect("/ws/jobs/vg_1?api_key=ka") as second,
    ):
        assert first.receive_json(timeout=5)["event"] == "queued"
        assert second.receive_json(timeout=5)["data"]["status"] == "queued"
        for percent in (30.0, 60.0):
            _push(client, store, _progress(percent))
        _push(client, store, _completed())
        for socket in (first, second):
            messages = [socket.receive_json(timeout=5) for _ in range(3)]
            assert [m["id"] for m in messages] == [2, 3, 4]
            assert [m["data"]["progress_percent"] for m in messages[:2]] == [30.0, 60.0]
            assert messages[2]["event"] == "completed"
            assert messages[2]["data"]["result_url"] == RESULT.result_url
            closed = _closed(socket)
            assert closed.code == 1000


def test_a_late_subscriber_gets_the_final_state_at_once(stack: tuple[TestClient[Any], LocalStore]) -> None:
    client, store = stack
    _push(client, store, _accepted())
    _push(client, store, _completed())
    with client.websocket_connect("/ws/jobs/vg_1", headers={"Authorization": "Bearer ka"}) as socket:
        final = socket.receive_json(timeout=5)
        assert final == {
            "id": 1,
            "event": "completed",
            "data": client.get("/api/v1/videoresult/vg_1", headers={"X-API-Key": "ka"}).json(),
        }
        assert _closed(socket).code == 1000


@pytest.mark.parametrize(
    ("path", "headers", "code"),
    [
        ("/ws/jobs/vg_nope", {"X-API-Key": "ka"}, 4404),
        ("/ws/jobs/vg_1", {"X-API-Key": "kb"}, 4404),  # another tenant's job
        ("/ws/jobs/vg_1", {}, 4401),
        ("/ws/jobs/vg_1?api_key=wrong", {}, 4401),
        ("/ws/jobs/vg_1?api_key=kb", {"X-API-Key": "ka"}, 4401),
    ],
)
def test_refusals_close_after_accept_with_a_code_and_reason(
    stack: tuple[TestClient[Any], LocalStore], path: str, headers: dict[str, str], code: int
) -> None:
    client, store = stack
    _push(client, store, _accepted())
    with client.websocket_connect(path, headers=headers) as socket:
        closed = _closed(socket)
    assert closed.code == code
    assert closed.detail == (
        "job not found"
        if code == 4404
        else "a valid API key is required (Authorization, X-API-Key or ?api_key=)"
    )


def test_a_socket_spends_the_tenants_rate_like_a_request() -> None:
    for client, store in _stack(per_minute=1):
        store.push(_accepted())
        _push(client, store, _completed())
        with client.websocket_connect("/ws/jobs/vg_1?api_key=ka") as socket:
            socket.receive_json(timeout=5)
            assert _closed(socket).code == 1000
        with client.websocket_connect("/ws/jobs/vg_1?api_key=ka") as socket:
            closed = _closed(socket)
        assert closed.code == 4429 and "retry after" in closed.detail
        assert client.get("/api/v1/videoresult/vg_1", headers={"X-API-Key": "ka"}).status_code == 429


def test_the_socket_echoes_the_request_id(stack: tuple[TestClient[Any], LocalStore]) -> None:
    client, store = stack
    store.push(_accepted())
    _push(client, store, _completed())
    with client.websocket_connect("/ws/jobs/vg_1?api_key=ka", headers={"X-Request-ID": "req-ws"}) as socket:
        assert (b"x-request-id", b"req-ws") in (socket.extra_headers or [])
        socket.receive_json(timeout=5)


def test_the_query_strings_key_never_reaches_a_log_line() -> None:
    line = '127.0.0.1:5000 - "WebSocket /ws/jobs/vg_1?api_key=s3cret-key" [accepted]'
    assert "s3cret-key" not in redact(line)


def test_openapi_still_generates(stack: tuple[TestClient[Any], LocalStore]) -> None:
    client, _ = stack
    document = client.get("/docs/openapi.json")
    assert document.status_code == 200
    assert "/api/v1/videocreate" in document.json()["paths"]
