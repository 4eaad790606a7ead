"""Seed 002's prompt jobs without a broker: the storyboard (scenes, timing), the spec it becomes in
each style and aspect ratio, the music beds, the HTTP generator's contract, and the routes in the
seed's `{"success": ...}` shapes."""

from __future__ import annotations

import http.server
import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.jobservice import JobService
from api.ratelimit import RateLimiter
from generator import FRAME_SIZES, StoryboardGenerator, prompt_generator
from generator.music import BEDS, synthesize
from generator.remote import RemoteGenerator
from generator.scenes import font_pixels
from generator.storyboard import phrases, scene_count, storyboard
from generator.styles import STYLES
from schemas.errors import ErrorCode, JobError
from schemas.events import ErrorInfo, JobEnded, PromptInfo, StageProgress
from schemas.settings import Settings
from tests.unit.test_api_websocket import RESULT, LocalStore, LocalTemplates
from tests.unit.test_templates import FoldingPublisher, SlowEstimate

SEED_BODY = {"prompt": "fun science brain animation", "style": "fun", "duration": 8, "aspectRatio": "16:9"}
LONG_PROMPT = "A quiet morning by the lake. Mist rises over the water, and the birds begin to sing softly."


def _info(**changes: Any) -> PromptInfo:
    fields = {
        "prompt": SEED_BODY["prompt"],
        "style": "fun",
        "duration": 8.0,
        "aspect_ratio": "16:9",
        **changes,
    }
    return PromptInfo.model_validate(fields)


# --- the storyboard ------------------------------------------------------------------------------


def test_phrases_keep_their_punctuation() -> None:
    assert phrases(LONG_PROMPT) == [
        "A quiet morning by the lake.",
        "Mist rises over the water,",
        "and the birds begin to sing softly.",
    ]
    assert phrases("  !!! ") == ["!!!"]


def test_the_seed_prompt_becomes_a_scene_per_word_at_the_fun_pace() -> None:
    scenes = storyboard(SEED_BODY["prompt"], 8, STYLES["fun"], 30)
    assert [s.text for s in scenes] == ["fun", "science", "brain", "animation"]
    assert [(s.start, s.length) for s in scenes] == [(0, 2), (2, 2), (4, 2), (6, 2)]


@pytest.mark.parametrize("duration", [1, 1.5, 2, 7.3, 33.3, 60])
@pytest.mark.parametrize("style", sorted(STYLES))
def test_scenes_fill_the_duration_back_to_back_on_frames(style: str, duration: float) -> None:
    scenes = storyboard(LONG_PROMPT, duration, STYLES[style], 30)  # type: ignore[index]
    assert scenes[0].start == 0 and abs(scenes[-1].start + scenes[-1].length - duration) < 1e-9
    for before, after in itertools.pairwise(scenes):
        assert abs(before.start + before.length - after.start) < 1e-9
        assert abs(after.start * 30 - round(after.start * 30)) < 1e-6
    assert len(scenes) == scene_count(duration, STYLES[style].scene_seconds)  # type: ignore[index]
    assert len(scenes) >= (2 if duration >= 2 else 1)
    assert all(s.text and not s.text.endswith(",") for s in scenes)


def test_phrases_share_scenes_or_come_round_again() -> None:
    calm = storyboard(LONG_PROMPT, 7, STYLES["calm"], 30)
    assert [s.text for s in calm] == [
        "A quiet morning by the lake. Mist rises over the water",
        "and the birds begin to sing softly.",
    ]
    assert [s.text for s in storyboard("Hello", 6, STYLES["fun"], 30)] == ["Hello"] * 3


def test_long_text_gets_smaller_to_fit_its_box() -> None:
    fun = STYLES["fun"]
    assert font_pixels("BRAIN", fun, 1280, 720) == pytest.approx(0.16 * 720)
    assert font_pixels("X" * 200, fun, 720, 1280) < 0.5 * 0.16 * 720
    assert font_pixels(" ".join(["word"] * 200), STYLES["calm"], 1280, 720) < 0.5 * 0.08 * 720
    assert font_pixels(" ".join(["word"] * 2000), STYLES["calm"], 1280, 720) == pytest.approx(
        0.3 * 0.08 * 720
    )


# --- the spec ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", sorted(FRAME_SIZES))
@pytest.mark.parametrize("style", sorted(STYLES))
async def test_every_style_and_ratio_is_a_valid_spec_of_the_exact_duration(style: str, ratio: str) -> None:
    settings = Settings(s3_bucket_name="media")
    spec = await StoryboardGenerator(settings).spec(
        _info(style=style, aspect_ratio=ratio, prompt=LONG_PROMPT, duration=9.5)
    )
    assert (spec.width, spec.height) == FRAME_SIZES[ratio]  # type: ignore[index]
    assert spec.duration == 9.5 and spec.fps == 30 and spec.output_format == "mp4"
    backgrounds = [e for e in spec.elements if e.id and e.id.endswith(".background")]
    assert len({e.color for e in backgrounds}) == min(len(backgrounds), len(STYLES[style].backgrounds))  # type: ignore[index]
    assert all(e.transition is not None for e in backgrounds[1:]), "scenes are joined by transitions"
    texts = [e for e in spec.elements if e.type == "text"]
    assert len(texts) == len(backgrounds) and all(e.fade_in > 0 and e.fade_out > 0 for e in texts)
    [music] = [e for e in spec.elements if e.type == "audio"]
    assert music.source == f"s3://media/generator/music/{STYLES[style].music}-v1.m4a"  # type: ignore[index]
    assert music.duration_mode == "loop" and music.duration is None


async def test_prompt_text_is_data() -> None:
    hostile = '{{x}} it\'s "quoted" drawtext=text=pwned [v] %{localtime}'
    spec = await StoryboardGenerator(Settings()).spec(_info(prompt=hostile, style="background", duration=4))
    assert " ".join(e.text or "" for e in spec.elements if e.type == "text") == hostile


# --- the music -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BEDS))
def test_each_bed_is_one_loop_of_sound(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.m4a"
    synthesize(Settings(), BEDS[name], path)
    with av.open(str(path)) as container:
        samples = [frame.to_ndarray() for frame in container.decode(audio=0)]
    seconds = sum(s.shape[-1] for s in samples) / 32_000
    assert abs(seconds - BEDS[name].seconds) < 0.05
    assert max(float(abs(s).max()) for s in samples) > 0.2, "audible"


# --- the HTTP generator --------------------------------------------------------------------------


@pytest.fixture()
def model_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A text-to-video endpoint that answers with a video URL, or 500 for the prompt 'fail'."""
    received: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(body)
            failing = body["prompt"] == "fail"
            answer = b"{}" if failing else json.dumps({"video_url": "https://cdn.test/gen.mp4"}).encode()
            self.send_response(500 if failing else 200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/generate", received
    finally:
        server.shutdown()
        server.server_close()


async def test_the_http_generator_renders_the_models_video_at_the_asked_size(
    model_server: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = model_server
    generator = prompt_generator(Settings(prompt_generator="http", prompt_generator_url=url))
    assert isinstance(generator, RemoteGenerator)
    spec = await generator.spec(_info(aspect_ratio="9:16", duration=5))
    assert received == [
        {
            "prompt": SEED_BODY["prompt"],
            "style": "fun",
            "duration": 5.0,
            "aspectRatio": "9:16",
            "width": 720,
            "height": 1280,
        }
    ]
    [video] = spec.elements
    assert (spec.width, spec.height, spec.duration) == (720, 1280, 5)
    assert (video.source, video.fit_mode, video.duration_mode) == (
        "https://cdn.test/gen.mp4",
        "cover",
        "loop",
    )
    with pytest.raises(JobError) as caught:
        await generator.spec(_info(prompt="fail"))
    assert caught.value.code == ErrorCode.PROCESSING_FAILED and "500" in caught.value.message


def test_the_http_generator_needs_its_url() -> None:
    with pytest.raises(ValueError, match="PROMPT_GENERATOR_URL"):
        Settings(prompt_generator="http")


# --- the routes ----------------------------------------------------------------------------------

Stack = tuple[TestClient[Any], FoldingPublisher]


@pytest.fixture()
def stack() -> Iterator[Stack]:
    settings = Settings(api_keys="alpha:ka,beta:kb", kafka_bootstrap_servers="unused:9092")
    templates, jobs = LocalTemplates(settings), LocalStore(settings)
    publisher = FoldingPublisher(templates, jobs)
    service = JobService(settings, jobs, publisher, SlowEstimate(), RateLimiter(0), templates)  # type: ignore[arg-type]
    with TestClient(create_app(settings, service)) as client:
        client.headers["X-API-Key"] = "ka"
        yield client, publisher


def _create(client: TestClient[Any], body: dict[str, Any] | None = None) -> str:
    response = client.post("/api/videos/generate", json=body or SEED_BODY)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["success"] is True and answer["data"]["status"] == "queued"
    return str(answer["data"]["jobId"])


def test_generate_then_read_in_the_seeds_shapes(stack: Stack) -> None:
    client, publisher = stack
    job_id = _create(client)
    assert job_id.startswith("prompt_")
    [(request, accepted)] = publisher.sent
    assert (request.spec.width, request.spec.height, request.spec.duration) == (1280, 720, 8)
    assert accepted.origin is not None and accepted.origin.prompt == _info()
    answer = client.get(f"/api/videos/{job_id}").json()
    data = answer["data"]
    assert answer["success"] is True
    assert {k: data[k] for k in ("jobId", "status", "videoUrl", "errorMessage")} == {
        "jobId": job_id, "status": "queued", "videoUrl": None, "errorMessage": None
    }  # fmt: skip
    assert (data["prompt"], data["style"], data["duration"], data["aspectRatio"]) == (
        SEED_BODY["prompt"],
        "fun",
        8,
        "16:9",
    )
    assert data["createdAt"].endswith("Z") and data["updatedAt"].endswith("Z")
    publisher.jobs.push(StageProgress(job_id=job_id, stage="render", progress_percent=40))
    assert client.get(f"/api/videos/{job_id}").json()["data"]["status"] == "processing"
    publisher.jobs.push(JobEnded(job_id=job_id, stage="upload", status="completed", result=RESULT))
    assert client.get(f"/api/videos/{job_id}").json()["data"]["videoUrl"] == RESULT.result_url


@pytest.mark.parametrize("end", ["failed", "cancelled"])
def test_a_failed_or_cancelled_job_has_failed_with_a_message(stack: Stack, end: str) -> None:
    client, publisher = stack
    job_id = _create(client)
    error = ErrorInfo(code=ErrorCode.FFMPEG_ERROR, message="the render failed") if end == "failed" else None
    publisher.jobs.push(JobEnded(job_id=job_id, stage="render", status=end, error=error))  # type: ignore[arg-type]
    data = client.get(f"/api/videos/{job_id}").json()["data"]
    assert data["status"] == "failed" and data["errorMessage"] in (
        "the render failed",
        "the job was cancelled",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"prompt": "x" * 1001}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"style": "loud"}, "style"),
        ({"duration": 0.5}, "duration"),
        ({"duration": 61}, "duration"),
        ({"aspectRatio": "21:9"}, "aspectRatio"),
        ({"extra": 1}, "extra"),
    ],
)
def test_validation_errors_are_400_in_the_seeds_shape(
    stack: Stack, change: dict[str, Any], field: str
) -> None:
    client, publisher = stack
    response = client.post("/api/videos/generate", json={**SEED_BODY, **change})
    assert response.status_code == 400
    answer = response.json()
    assert answer["success"] is False and answer["error"]["code"] == "INVALID_INPUT"
    assert field in [f["field"] for f in answer["error"]["details"]["fields"]]
    missing = client.post("/api/videos/generate", json={"prompt": "x"}).json()
    assert {f["field"] for f in missing["error"]["details"]["fields"]} == {"style", "duration", "aspectRatio"}
    assert publisher.sent == []


def test_keys_owners_and_unknown_ids(stack: Stack) -> None:
    client, _ = stack
    job_id = _create(client)
    for response, status, code in (
        (client.post("/api/videos/generate", json=SEED_BODY, headers={"X-API-Key": ""}), 401, "UNAUTHORIZED"),
        (client.get(f"/api/videos/{job_id}", headers={"X-API-Key": "wrong"}), 401, "UNAUTHORIZED"),
        (client.get(f"/api/videos/{job_id}", headers={"X-API-Key": "kb"}), 403, "FORBIDDEN"),
        (client.get("/api/videos/prompt_000000000000"), 404, "NOT_FOUND"),
        (client.get("/api/videos/a/b"), 404, "NOT_FOUND"),
    ):
        assert response.status_code == status, response.text
        assert response.json()["success"] is False and response.json()["error"]["code"] == code
    other = client.post(
        "/api/v1/videocreate",
        json={"width": 64, "height": 64, "duration": 1, "elements": [{"type": "color", "color": "#000000"}]},
    ).json()["job_id"]
    assert client.get(f"/api/videos/{other}").status_code == 404, "not a prompt job"
    assert "success" not in client.get("/api/v1/videoresult/nope").json(), "other routes keep their envelope"
