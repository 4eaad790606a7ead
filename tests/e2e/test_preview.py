"""The studio's preview routes through the real stack: an API with keys renders frames and clips
of specs whose sources come from the test media server, under the fetch stage's rules."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import av
import httpx
import pytest

from tests.e2e.api_instance import extra_api
from tests.e2e.conftest import MediaServer, RunningStack

KEY = "preview-key"


@pytest.fixture(scope="module")
def preview_api(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with extra_api(
        stack,
        tmp_path_factory.mktemp("preview-api"),
        API_KEYS=f"studio:{KEY}",
        RATE_LIMIT_PER_MINUTE="2",  # previews spend none of it
    ) as url:
        yield url


@pytest.fixture()
def client(preview_api: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=preview_api, headers={"X-API-Key": KEY}, timeout=httpx.Timeout(10.0, read=120.0)
    ) as client:
        yield client


def _spec(video: str) -> dict[str, Any]:
    return {
        "width": 640,
        "height": 360,
        "elements": [
            {"type": "video", "source": video, "track": 1},
            {
                "type": "color",
                "color": "#ff0000",
                "track": 2,
                "width": 40,
                "height": 40,
                "x": [{"time": 0, "value": 0}, {"time": 3, "value": 600}],
                "y": 160,
            },
            {"type": "text", "text": "{{title}}", "track": 3, "y": 20, "font_size": 32},
        ],
    }


def _image(data: bytes) -> tuple[int, int, tuple[int, ...]]:
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    return frame.shape[1], frame.shape[0], tuple(int(v) for v in frame[frame.shape[0] // 2 + 1, 10])


def test_a_frame_is_rendered_then_cached_then_not_sent(
    client: httpx.Client, media_server: MediaServer
) -> None:
    body = {"spec": _spec(media_server.url("blue.mp4")), "time": 1.0, "width": 320, "merge": {"title": "Hi"}}
    first = client.post("/api/v1/preview/frame", json=body)
    assert first.status_code == 200, first.text
    assert (first.headers["content-type"], first.headers["x-frame-cache"]) == ("image/jpeg", "miss")
    width, height, left = _image(first.content)
    assert (width, height) == (320, 180)
    assert left[2] > 180 and left[0] < 60  # the blue video at the left edge
    again = client.post("/api/v1/preview/frame", json=body)
    assert (again.status_code, again.headers["x-frame-cache"]) == (200, "hit")
    assert again.headers["etag"] == first.headers["etag"] and again.content == first.content
    unchanged = client.post(
        "/api/v1/preview/frame", json=body, headers={"If-None-Match": first.headers["etag"]}
    )
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    for _ in range(3):  # more than RATE_LIMIT_PER_MINUTE: previews are bounded by their render slots
        assert client.post("/api/v1/preview/frame", json=body).status_code == 200


def test_a_bad_spec_names_its_field(client: httpx.Client, media_server: MediaServer) -> None:
    spec = _spec(media_server.url("blue.mp4"))
    spec["elements"][1]["width"] = "wide"
    answer = client.post("/api/v1/preview/frame", json={"spec": spec, "time": 0, "merge": {"title": "x"}})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    assert [f["field"] for f in error["details"]["fields"]] == ["elements.1.width"]


@pytest.mark.parametrize(
    ("source", "reason"),
    [("http://localhost:{port}/blue.mp4", "loopback"), ("file:///etc/passwd", "scheme")],
)
def test_sources_meet_the_fetch_stages_guard(
    client: httpx.Client, media_server: MediaServer, source: str, reason: str
) -> None:
    url = source.format(port=media_server.base.rsplit(":", 1)[1])
    answer = client.post(
        "/api/v1/preview/frame", json={"spec": _spec(url), "time": 0, "merge": {"title": "x"}}
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "INVALID_INPUT" and reason in error["message"], error


def test_a_clip_is_an_mp4_of_its_window(client: httpx.Client, media_server: MediaServer) -> None:
    body = {
        "spec": _spec(media_server.url("blue.mp4")),
        "start": 0.5,
        "duration": 2,
        "merge": {"title": "Hi"},
    }
    answer = client.post("/api/v1/preview/clip", json=body)
    assert answer.status_code == 200, answer.text
    assert (answer.headers["content-type"], answer.headers["x-frame-cache"]) == ("video/mp4", "miss")
    with av.open(io.BytesIO(answer.content)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio  # blue.mp4 has a tone
        assert float(container.duration or 0) / 1e6 == pytest.approx(2.0, abs=0.1)


def test_the_layout_is_the_engines(client: httpx.Client, media_server: MediaServer) -> None:
    """The video's span is its source's real length (no duration in the spec), the keyframed square is
    where the render puts it at that instant, and the text hugs its filled value."""
    body = {"spec": _spec(media_server.url("blue.mp4")), "time": 1.5, "merge": {"title": "Hi"}}
    answer = client.post("/api/v1/preview/layout", json=body)
    assert answer.status_code == 200, answer.text
    layout = answer.json()
    assert (layout["width"], layout["height"], layout["duration"]) == (640, 360, pytest.approx(3.0, abs=0.05))
    video, square, title = layout["elements"]
    assert (video["path"], video["type"], video["start"]) == ("elements.0", "video", 0.0)
    assert video["end"] == pytest.approx(3.0, abs=0.05) and video["box"]["width"] == 640
    assert square["visible"] and square["box"] == {
        "x": pytest.approx(300.0),
        "y": 160.0,
        "width": 40,
        "height": 40,
    }
    assert title["type"] == "text" and 0 < title["box"]["width"] < 200 and title["box"]["y"] == 20
    bad = client.post("/api/v1/preview/layout", json={**body, "spec": {**body["spec"], "fps": 0}})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["fields"][0]["field"] == "fps"


def test_previews_need_a_key(preview_api: str) -> None:
    answer = httpx.post(f"{preview_api}/api/v1/preview/frame", json={"spec": {}, "time": 0}, timeout=10)
    assert answer.status_code == 401
