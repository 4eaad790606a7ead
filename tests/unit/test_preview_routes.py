"""The preview routes over HTTP without a broker: the spec checked and filled as /videocreate does
it (errors at the spec's own fields), a frame rendered in the process with its cache headers, and
previews kept out of the tenant's request budget. Specs here draw text and colour only: nothing
is downloaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.jobservice import JobService
from api.jobstore import JobStore
from api.preview_routes import etags
from api.publisher import JobPublisher
from api.ratelimit import RateLimiter
from api.templatestore import TemplateStore
from schemas.settings import Settings

KEY = {"X-API-Key": "alpha-key"}
SPEC: dict[str, Any] = {
    "width": 320,
    "height": 180,
    "duration": 2,
    "background_color": "#0000ff",
    "elements": [{"type": "text", "text": "{{name}}", "font_size": 30}],
}


class FixedEstimate:
    async def estimate(self, spec: object, *_: object) -> float:
        return 60.0


@pytest.fixture()
def client(tmp_path: Path) -> TestClient[Any]:
    settings = Settings(
        kafka_bootstrap_servers="unused:9092", api_keys="alpha:alpha-key", data_dir=tmp_path, ffmpeg_threads=1
    )
    service = JobService(
        settings,
        JobStore(settings),
        JobPublisher(settings),
        FixedEstimate(),  # type: ignore[arg-type]
        RateLimiter(1),  # one request a minute: previews must not spend it
        TemplateStore(settings),
    )
    return TestClient(create_app(settings, service))  # no lifespan: nothing here reaches Kafka


def _fields(answer: Any) -> list[str]:
    assert answer.status_code == 400, answer.text
    body = answer.json()["error"]
    assert body["code"] == "INVALID_INPUT"
    return [problem["field"] for problem in body["details"]["fields"]]


def test_a_bad_spec_is_refused_at_its_own_field(client: TestClient[Any]) -> None:
    bad = {**SPEC, "elements": [{"type": "text", "text": "hi", "x": "left-ish"}]}
    answer = client.post("/api/v1/preview/frame", json={"spec": bad, "time": 0}, headers=KEY)
    assert _fields(answer) == ["elements.0.x"]
    odd = client.post("/api/v1/preview/frame", json={"spec": {**SPEC, "width": 321}, "time": 0}, headers=KEY)
    assert _fields(odd) == ["width"]


def test_merge_values_are_checked_as_a_templates_are(client: TestClient[Any]) -> None:
    missing = client.post("/api/v1/preview/frame", json={"spec": SPEC, "time": 0, "merge": {}}, headers=KEY)
    assert _fields(missing) == ["merge.name"]
    sized = {**SPEC, "elements": [{"type": "text", "text": "hi", "font_size": "{{size}}"}]}
    body = {"spec": sized, "time": 0, "merge": {"size": "huge"}}
    answer = client.post("/api/v1/preview/frame", json=body, headers=KEY)
    assert _fields(answer) == ["elements.0.font_size"]
    assert "{{size}}" in answer.json()["error"]["details"]["fields"][0]["message"]


def test_a_body_field_is_named_as_the_body_has_it(client: TestClient[Any]) -> None:
    answer = client.post("/api/v1/preview/clip", json={"spec": SPEC, "start": 0, "duration": 11}, headers=KEY)
    assert _fields(answer) == ["duration"]


def test_a_frame_is_rendered_cached_and_not_sent_again(client: TestClient[Any], tmp_path: Path) -> None:
    body = {"spec": SPEC, "time": 1, "merge": {"name": "Ada"}, "width": 160, "format": "png"}
    first = client.post("/api/v1/preview/frame", json=body, headers=KEY)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "image/png"
    assert first.headers["x-frame-cache"] == "miss"
    assert first.headers["cache-control"] == "private, max-age=3600"
    image = tmp_path / "frame.png"
    image.write_bytes(first.content)
    with av.open(str(image)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert frame.shape == (90, 160, 3)
    assert abs(frame[5, 5] - (0, 0, 255)).max() <= 8  # the background, away from the text
    second = client.post("/api/v1/preview/frame", json=body, headers=KEY)
    assert (second.headers["x-frame-cache"], second.content) == ("hit", first.content)
    assert second.headers["etag"] == first.headers["etag"]
    unchanged = client.post(
        "/api/v1/preview/frame", json=body, headers={**KEY, "If-None-Match": first.headers["etag"]}
    )
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    other = client.post("/api/v1/preview/frame", json={**body, "merge": {"name": "Bo"}}, headers=KEY)
    assert other.headers["x-frame-cache"] == "miss" and other.headers["etag"] != first.headers["etag"]


def test_previews_do_not_spend_the_tenants_request_budget(client: TestClient[Any]) -> None:
    for _ in range(3):
        answer = client.post("/api/v1/preview/frame", json={"spec": SPEC, "time": 0}, headers=KEY)
        assert answer.status_code == 200, answer.text
    assert client.post("/api/v1/videocreate", json={}, headers=KEY).status_code == 400  # the guard passed
    assert client.post("/api/v1/videocreate", json={}, headers=KEY).status_code == 429
    assert client.post("/api/v1/preview/frame", json={"spec": SPEC, "time": 0}).status_code == 401


def test_an_audio_only_spec_is_refused_at_its_format(client: TestClient[Any]) -> None:
    spec = {"output_format": "mp3", "elements": [{"type": "audio", "source": "https://example.com/a.mp3"}]}
    answer = client.post("/api/v1/preview/frame", json={"spec": spec, "time": 0}, headers=KEY)
    assert answer.status_code == 400 and answer.json()["error"]["details"]["field"] == "output_format"


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, set()), ('"abc"', {"abc"}), ('W/"abc", "def"', {"abc", "def"}), ("abc", {"abc"})],
)
def test_if_none_match_names_keys(header: str | None, expected: set[str]) -> None:
    assert etags(header) == expected
