"""The compositions API without a broker: the translation into a video spec, the timeline and
format checks with their field paths, the views of a job's state, and the routes and WebSocket
over the real job-store fold (Kafka replaced by a store fed by hand)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from api.app import create_app
from api.compositions import metadata_view, status_view, to_spec, ws_message
from api.jobservice import JobService
from api.ratelimit import RateLimiter
from schemas.compositions import CompositionRequest
from schemas.errors import ErrorCode, JobError
from schemas.events import (
    Encoding,
    ErrorInfo,
    JobAccepted,
    JobEnded,
    JobEvent,
    JobRequested,
    JobState,
    MediaSummary,
    ProbedInput,
    RenderedFile,
    ResultInfo,
    StageProgress,
    StageRecord,
)
from schemas.settings import Settings
from tests.unit.test_api_websocket import LocalStore, LocalTemplates, NoEstimator

SEED_EXAMPLE: dict[str, Any] = {
    "clips": [
        {
            "url": "s3://bucket/clip1.mp4",
            "start_time": 0,
            "end_time": 3.5,
            "trim_start": 0,
            "trim_end": 3.5,
            "transition_in": "fade",
            "transition_duration": 0.5,
        }
    ],
    "audio": {
        "music_url": "s3://bucket/music.mp3",
        "voiceover_url": "s3://bucket/vo.mp3",
        "music_volume": 0.8,
        "voiceover_volume": 1.0,
    },
    "overlays": [
        {
            "type": "text",
            "content": "Summer Sale!",
            "position": {"x": "center", "y": 100},
            "start_time": 0,
            "duration": 5,
            "style": {"font": "Arial", "size": 48, "color": "#FFFFFF", "shadow": True},
        }
    ],
    "output": {"resolution": "720p", "fps": 30, "crf": 21, "format": "mp4"},
}


def _spec(body: dict[str, Any]) -> Any:
    return to_spec(CompositionRequest.model_validate(body))


def _refused(body: dict[str, Any]) -> JobError:
    with pytest.raises(JobError) as caught:
        _spec(body)
    return caught.value


def _fields(error: JobError) -> list[str]:
    return [f["field"] for f in error.details["fields"]]


# --- translation ---------------------------------------------------------------------------------


def test_the_seed_example_becomes_one_ordinary_spec() -> None:
    spec = _spec(SEED_EXAMPLE)
    assert (spec.width, spec.height, spec.fps, spec.crf, spec.output_format) == (1280, 720, 30, 21, "mp4")
    assert spec.thumbnail and spec.duration == 3.5, "the video ends with its last clip"
    clip, text, music, voice = spec.elements
    assert (clip.id, clip.type, clip.source, clip.time, clip.duration) == (
        "clips.0", "video", "s3://bucket/clip1.mp4", 0.0, 3.5
    )  # fmt: skip
    assert clip.fade_in == 0.5 and clip.transition is None, "the first clip fades in from black"
    assert (text.type, text.text, text.track) == ("text", "Summer Sale!", 2)
    assert (text.x, text.width, text.align) == (None, 1280, "center"), "centered across the output"
    assert (text.y, text.height, text.vertical_align) == (100.0, 620, "top"), "its top at y=100"
    assert (text.font_family, text.font_size, text.color, text.shadow is not None) == (
        "Arial", 48.0, "#ffffff", True
    )  # fmt: skip
    assert (music.type, music.volume, music.duration_mode, music.voiceover) == ("audio", 0.8, "loop", False)
    assert (voice.type, voice.voiceover, voice.volume) == ("audio", True, 1.0)


def test_defaults_are_the_seed_output_and_clips_follow_each_other() -> None:
    spec = _spec(
        {
            "clips": [
                {"url": "https://cdn.test/a.mp4", "trim_start": 1, "trim_end": 3},
                {"url": "https://cdn.test/b", "end_time": 5, "transition_in": "wipeleft"},
                {"url": "https://cdn.test/c.mov", "transition_in": "none"},
            ]
        }
    )
    assert (spec.width, spec.height, spec.fps, spec.crf, spec.output_format) == (1280, 720, 30.0, 21, "mp4")
    a, b, c = spec.elements
    assert (a.time, a.duration, a.trim_start, a.trim_end) == (0.0, 2.0, 1.0, 3.0)
    assert (b.time, b.duration) == (2.0, 3.0)
    assert b.transition is not None and (b.transition.type, b.transition.duration) == ("wipeleft", 0.5)
    assert (c.time, c.duration, c.transition) == (5.0, None, None), "the last clip plays its own length"
    assert spec.duration is None, "the last clip's length is known only once probed"


def test_a_clip_of_unknown_length_plays_until_the_next_one_starts() -> None:
    spec = _spec(
        {"clips": [{"url": "https://cdn.test/a.mp4"}, {"url": "https://cdn.test/b.mp4", "start_time": 4}]}
    )
    assert [(e.time, e.duration) for e in spec.elements] == [(0.0, 4.0), (4.0, None)]


def test_overlay_text_stays_an_element_and_pixel_positions_are_top_left() -> None:
    spec = _spec(
        {
            "clips": [{"url": "https://cdn.test/a.mp4", "end_time": 4}],
            "overlays": [{"content": "it's 50%: [a];b", "position": {"x": 20, "y": "center"}}],
        }
    )
    text = spec.elements[1]
    assert text.text == "it's 50%: [a];b"
    assert (text.x, text.width, text.align) == (20.0, 1260, "left")
    assert (text.y, text.height, text.vertical_align) == (None, 720, "center")


@pytest.mark.parametrize(
    ("position", "field"), [({"x": 1280}, "x"), ({"y": -1}, "y"), ({"x": 0, "y": 720}, "y")]
)
def test_an_overlay_outside_the_output_is_refused(position: dict[str, float], field: str) -> None:
    error = _refused({"clips": [{"url": A}], "overlays": [{"content": "x", "position": position}]})
    assert error.code == ErrorCode.INVALID_INPUT and _fields(error) == [f"overlays.0.position.{field}"]


# --- INVALID_TIMELINE and INVALID_CLIP_FORMAT ----------------------------------------------------

A = "https://cdn.test/a.mp4"


@pytest.mark.parametrize(
    ("clips", "overlays", "fields"),
    [
        ([{"url": A, "start_time": -1, "end_time": 2}], [], ["clips.0.start_time"]),
        ([{"url": A, "end_time": 2}, {"url": A, "start_time": 1, "end_time": 3}], [], ["clips.1.start_time"]),
        ([{"url": A, "start_time": 2, "end_time": 1}], [], ["clips.0.end_time"]),
        ([{"url": A, "trim_start": 3, "trim_end": 2}], [], ["clips.0.trim_end"]),
        ([{"url": A, "end_time": 5, "trim_end": 2}], [], ["clips.0.end_time"]),
        ([{"url": A}, {"url": A}], [], ["clips.1.start_time"]),
        ([{"url": A, "start_time": 3}, {"url": A, "start_time": 1}], [], ["clips.1.start_time"]),
        ([{"url": A, "start_time": 3}, {"url": A, "start_time": 3}], [], ["clips.1.start_time"]),
        ([{"url": A, "end_time": 2}], [{"content": "x", "start_time": 2}], ["overlays.0.start_time"]),
        (
            [{"url": A, "end_time": 2}],
            [{"content": "x", "start_time": -1, "duration": 0}],
            ["overlays.0.start_time", "overlays.0.duration"],
        ),
        (
            [{"url": A, "trim_start": -1}, {"url": A, "start_time": -2}],
            [],
            ["clips.0.trim_start", "clips.1.start_time"],
        ),
    ],
)
def test_impossible_timelines_name_each_field(
    clips: list[dict[str, Any]], overlays: list[dict[str, Any]], fields: list[str]
) -> None:
    error = _refused({"clips": clips, "overlays": overlays})
    assert error.code == ErrorCode.INVALID_TIMELINE
    assert _fields(error) == fields
    assert error.message.startswith(f"invalid timeline: {fields[0]}: ")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"clips": [{"url": "https://cdn.test/song.MP3"}]}, ["clips.0.url"]),
        ({"clips": [{"url": A}, {"url": "https://cdn.test/photo.jpg?x=1"}]}, ["clips.1.url"]),
        ({"clips": [{"url": "ftp://cdn.test/a.mp4"}]}, ["clips.0.url"]),
        ({"clips": [{"url": "file:///etc/passwd"}]}, ["clips.0.url"]),
        ({"clips": [{"url": "http://["}]}, ["clips.0.url"]),  # urlsplit raised: a 500, found by schemathesis
        ({"clips": [{"url": A}], "audio": {"music_url": "https://cdn.test/cover.png"}}, ["audio.music_url"]),
    ],
)
def test_urls_that_are_clearly_not_video_are_refused(body: dict[str, Any], fields: list[str]) -> None:
    error = _refused(body)
    assert error.code == ErrorCode.INVALID_CLIP_FORMAT and _fields(error) == fields


def test_urls_that_may_be_video_are_left_to_the_fetch_and_probe() -> None:
    spec = _spec(
        {
            "clips": [{"url": "https://cdn.test/v"}, {"url": "s3://b/k.gif", "start_time": 9}],
            "audio": {"music_url": "https://cdn.test/clip.mp4"},
        }
    )
    assert [e.source for e in spec.elements] == [
        "https://cdn.test/v",
        "s3://b/k.gif",
        "https://cdn.test/clip.mp4",
    ]


# --- views ---------------------------------------------------------------------------------------

RESULT = ResultInfo(
    result_url="https://b.s3/processed/video_comp_1.mp4",
    s3_key="processed/video_comp_1.mp4",
    file_size_bytes=1000,
    duration_seconds=4.0,
    width=1280,
    height=720,
    output_format="mp4",
    thumbnail_url="https://b.s3/processed/video_comp_1_thumb.jpg",
    thumbnail_s3_key="processed/video_comp_1_thumb.jpg",
)
RENDERED = RenderedFile(
    path="/w/out.mp4",
    size_bytes=1000,
    duration_seconds=4.0,
    width=1280,
    height=720,
    output=MediaSummary(
        kind="video", format="mov,mp4", width=1280, height=720, duration_seconds=4.0, size_bytes=1000
    ),
    inputs=[ProbedInput(element="clips.0", url=A, kind="video", width=640, height=360, size_bytes=99)],
    encoding=Encoding(video_codec="libx264", crf=21, fps=30.0, preset="veryfast", audio_codec="aac"),
)


def _state(**update: Any) -> JobState:
    return JobState(
        job_id="comp_1", submitted_at_ms=1_700_000_000_000, updated_at=1_700_000_002.5
    ).model_copy(update=update)


def test_status_view_names_the_stage_and_maps_failures_to_the_seed_codes() -> None:
    running = status_view(
        _state(status="processing", stage="render", progress_percent=41.26, current_step="rendering 33%"),
        None,
        None,
    )
    assert running.progress.model_dump() == {
        "stage": "encoding",
        "percentage": 41.3,
        "message": "rendering 33%",
    }
    assert (running.created_at, running.updated_at) == (
        "2023-11-14T22:13:20.000Z",
        "2023-11-14T22:13:22.500Z",
    )
    failed = status_view(
        _state(status="failed", error=ErrorInfo(code=ErrorCode.FFMPEG_ERROR, message="boom")), None, None
    )
    assert failed.error is not None
    assert (failed.error.code, failed.error.cause, failed.progress.stage) == (
        ErrorCode.PROCESSING_FAILED, ErrorCode.FFMPEG_ERROR, "failed"
    )  # fmt: skip
    fetch_failed = status_view(
        _state(status="failed", error=ErrorInfo(code=ErrorCode.SOURCE_DOWNLOAD_FAILED, message="404")),
        None,
        None,
    )
    assert fetch_failed.error is not None and fetch_failed.error.cause is None
    assert fetch_failed.error.code == ErrorCode.SOURCE_DOWNLOAD_FAILED


def test_metadata_view_has_stage_timings_and_what_the_render_probed() -> None:
    stages = {
        "fetch": StageRecord(status="finished", attempts=1, started_at=10.0, finished_at=11.25, worker="w"),
        "render": StageRecord(
            status="finished", attempts=2, started_at=11.5, finished_at=14.0, rendered=RENDERED
        ),
        "upload": StageRecord(status="started", attempts=1, started_at=14.1),
    }
    meta = metadata_view(_state(status="processing", stages=stages), None, None)
    assert list(meta.stages) == ["fetch", "render", "upload"]
    assert (meta.stages["fetch"].seconds, meta.stages["render"].attempts, meta.stages["upload"].seconds) == (
        1.25, 2, None
    )  # fmt: skip
    assert meta.output is not None and (meta.output.width, meta.output.height) == (1280, 720)
    assert meta.encoder is not None and (meta.encoder.crf, meta.encoder.fps) == (21, 30.0)
    assert [(i.element, i.url, i.width) for i in meta.inputs] == [("clips.0", A, 640)]
    empty = metadata_view(_state(), None, None)
    assert (empty.stages, empty.inputs, empty.output, empty.encoder) == ({}, [], None, None)


def test_websocket_messages_are_the_seed_shapes() -> None:
    progress = ws_message(_state(status="processing", stage="fetch", progress_percent=10), None, None)
    assert progress.model_dump(mode="json") == {
        "type": "progress",
        "data": {
            "stage": "downloading",
            "percentage": 10.0,
            "message": "queued",
            "timestamp": "2023-11-14T22:13:22.500Z",
        },
    }
    done = ws_message(_state(status="completed", result=RESULT), "https://o", "https://t").model_dump()
    assert (done["type"], done["data"]["output_url"], done["data"]["thumbnail_url"]) == (
        "completed",
        "https://o",
        "https://t",
    )
    cancelled = ws_message(_state(status="cancelled"), None, None).model_dump(mode="json")
    assert (cancelled["type"], cancelled["data"]["code"]) == ("failed", "CANCELLED")


# --- the routes and the WebSocket ----------------------------------------------------------------


class RecordingPublisher:
    def __init__(self) -> None:
        self.sent: list[JobRequested] = []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, request: JobRequested, accepted: JobEvent) -> None:
        self.sent.append(request)


class FixedEstimate(NoEstimator):
    async def estimate(self, spec: object, *_: object) -> float:
        return 1.2  # within the quick window: a composition is still never waited on


Stack = tuple[TestClient[Any], LocalStore, RecordingPublisher]


@pytest.fixture()
def stack() -> Iterator[Stack]:
    settings = Settings(api_keys="alpha:ka,beta:kb", kafka_bootstrap_servers="unused:9092")
    store, publisher = LocalStore(settings), RecordingPublisher()
    service = JobService(
        settings, store, publisher, FixedEstimate(), RateLimiter(0), LocalTemplates(settings)
    )  # type: ignore[arg-type]
    with TestClient(create_app(settings, service)) as client:
        client.headers["X-API-Key"] = "ka"
        yield client, store, publisher


def _push(client: TestClient[Any], store: LocalStore, event: JobEvent) -> None:
    client.blocking_portal.call(store.push, event)  # on the app's loop, as the Kafka reader would


def _create(client: TestClient[Any], body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/api/v1/compositions", json=body or SEED_EXAMPLE)
    assert response.status_code == 202, response.text
    return dict(response.json())


def test_create_publishes_an_ordinary_job_and_answers_202(stack: Stack) -> None:
    client, _, publisher = stack
    answer = _create(client)
    composition_id = answer["composition_id"]
    assert composition_id.startswith("comp_") and answer["status"] == "queued"
    assert answer["estimated_duration"] == 2 and answer["created_at"].endswith("Z")
    assert answer["websocket_url"] == f"ws://testserver.local/ws/compositions/{composition_id}"
    [request] = publisher.sent
    assert request.job_id == composition_id and request.tenant == "alpha"
    assert request.spec == _spec(SEED_EXAMPLE)
    shown = client.get(f"/api/v1/compositions/{composition_id}").json()
    assert (shown["status"], shown["progress"]["stage"], shown["output_url"]) == ("queued", "queued", None)
    assert client.get(f"/api/v1/videoresult/{composition_id}").status_code == 200, "a job like any other"


def test_the_websocket_url_follows_the_clients_scheme(stack: Stack) -> None:
    _, store, publisher = stack
    settings = Settings(kafka_bootstrap_servers="unused:9092")
    service = JobService(
        settings, store, publisher, FixedEstimate(), RateLimiter(0), LocalTemplates(settings)
    )  # type: ignore[arg-type]
    with TestClient(create_app(settings, service), base_url="https://api.example.com") as client:
        assert _create(client)["websocket_url"].startswith("wss://api.example.com/ws/compositions/comp_")


def test_invalid_compositions_answer_the_envelope_with_field_paths(stack: Stack) -> None:
    client, _, publisher = stack
    body = {"clips": [{"url": A, "end_time": 3}, {"url": A, "start_time": 2}]}
    response = client.post("/api/v1/compositions", json=body, headers={"X-Request-ID": "req-9"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["request_id"]) == ("INVALID_TIMELINE", "req-9")
    assert error["details"]["fields"][0]["field"] == "clips.1.start_time"
    response = client.post("/api/v1/compositions", json={"clips": [{"url": "https://cdn.test/a.wav"}]})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "INVALID_CLIP_FORMAT")
    response = client.post("/api/v1/compositions", json={"clips": [{"url": A, "speed": 2}]})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "INVALID_INPUT")
    assert response.json()["error"]["details"]["fields"][0]["field"] == "clips.0.speed"
    assert publisher.sent == []


def test_unknown_foreign_and_non_composition_ids_are_not_found(stack: Stack) -> None:
    client, store, _ = stack
    composition_id = _create(client)["composition_id"]
    _push(client, store, JobAccepted(job_id="vg_123456789abc", tenant="alpha"))
    for path in (
        "comp_000000000000",
        "vg_123456789abc",
        f"{composition_id}/metadata",
        f"{composition_id}/download",
    ):
        response = client.get(f"/api/v1/compositions/{path}", headers={"X-API-Key": "kb"})
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "COMPOSITION_NOT_FOUND"


def test_download_redirects_once_completed(stack: Stack) -> None:
    client, store, _ = stack
    composition_id = _create(client)["composition_id"]
    conflict = client.get(f"/api/v1/compositions/{composition_id}/download", follow_redirects=False)
    assert (conflict.status_code, conflict.json()["error"]["code"]) == (409, "CONFLICT")
    _push(client, store, JobEnded(job_id=composition_id, stage="notify", status="completed", result=RESULT))
    response = client.get(f"/api/v1/compositions/{composition_id}/download", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (307, RESULT.result_url)
    shown = client.get(f"/api/v1/compositions/{composition_id}").json()
    assert (shown["output_url"], shown["thumbnail_url"]) == (RESULT.result_url, RESULT.thumbnail_url)
    assert shown["progress"]["percentage"] == 100.0


def test_the_websocket_sends_progress_then_the_end_then_closes(stack: Stack) -> None:
    client, store, _ = stack
    composition_id = _create(client)["composition_id"]
    with client.websocket_connect(f"/ws/compositions/{composition_id}?api_key=ka") as socket:
        assert socket.receive_json(timeout=5)["data"]["stage"] == "queued"
        _push(
            client,
            store,
            StageProgress(job_id=composition_id, stage="render", progress_percent=40),
        )
        _push(
            client,
            store,
            StageProgress(job_id=composition_id, stage="render", progress_percent=40),
        )
        _push(
            client,
            store,
            StageProgress(job_id=composition_id, stage="upload", progress_percent=90),
        )
        _push(
            client, store, JobEnded(job_id=composition_id, stage="notify", status="completed", result=RESULT)
        )
        seen = [socket.receive_json(timeout=5) for _ in range(3)]
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json(timeout=5)
    assert [(m["type"], m["data"].get("percentage")) for m in seen] == [
        ("progress", 40.0), ("progress", 90.0), ("completed", None)
    ], "an unchanged state is not sent twice"  # fmt: skip
    assert seen[-1]["data"]["thumbnail_url"] == RESULT.thumbnail_url
    assert closed.value.code == 1000


@pytest.mark.parametrize(
    ("path", "key", "code"),
    [("comp_000000000000", "ka", 4404), ("vg_1", "ka", 4404), (None, "kb", 4404), (None, "bad", 4401)],
)
def test_the_websocket_refuses_like_the_jobs_one(stack: Stack, path: str | None, key: str, code: int) -> None:
    client, store, _ = stack
    _push(client, store, JobAccepted(job_id="vg_1", tenant="alpha"))
    target = path or _create(client)["composition_id"]
    with (
        client.websocket_connect(f"/ws/compositions/{target}", headers={"X-API-Key": key}) as socket,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        socket.receive_json(timeout=5)
    assert closed.value.code == code


def test_signed_urls_are_made_afresh_for_the_video_and_its_thumbnail() -> None:
    settings = Settings(
        kafka_bootstrap_servers="unused:9092",
        s3_signed_urls=True,
        s3_endpoint_url="http://s3.test:9000",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    )
    service = JobService(
        settings,
        LocalStore(settings),
        RecordingPublisher(),
        FixedEstimate(),
        RateLimiter(0),
        LocalTemplates(settings),
    )  # type: ignore[arg-type]
    video, thumbnail = service.result_urls(_state(status="completed", result=RESULT))
    assert video is not None and thumbnail is not None
    assert video.startswith(f"http://s3.test:9000/videogen/{RESULT.s3_key}?") and "Signature" in video
    assert thumbnail.startswith(f"http://s3.test:9000/videogen/{RESULT.thumbnail_s3_key}?")
    assert service.result_urls(_state()) == (None, None)
