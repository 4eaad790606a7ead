"""Outputs beside and instead of the video, through the real stack: a poster and a thumbnail stored
next to the video with their URLs on GET, SSE, the WebSocket and the Kafka result; and an mp3 job
stored as playable sound."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from tests.e2e.conftest import MediaServer, RunningStack
from tests.e2e.kafka_io import read_topic
from tests.e2e.test_pipeline import download, follow_events
from tests.e2e.ws_client import follow
from tests.media import near

pytestmark = pytest.mark.e2e

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _key(stack: RunningStack, url: str) -> str:
    return url.split(f"/{stack.bucket}/", 1)[1].split("?", 1)[0]


def _image(path: Path) -> tuple[tuple[int, int], tuple[int, int, int]]:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        r, g, b = frame.to_ndarray(format="rgb24")[10, 10]
        return (frame.width, frame.height), (int(r), int(g), int(b))


@pytest.fixture(scope="module")
def with_images(stack: RunningStack) -> dict[str, Any]:
    """A 3 s job, red then green then blue, asking for a poster at 1.5 s and a thumbnail at 2.5 s."""
    colors = [("#ff0000", 0), ("#00ff00", 1), ("#0000ff", 2)]
    spec = {
        "width": 320,
        "height": 240,
        "fps": 10,
        "poster": {"time": 1.5},
        "thumbnail": {"time": 2.5, "width": 160},
        "elements": [{"type": "color", "color": c, "time": t, "duration": 1} for c, t in colors],
    }
    with stack.client() as client:
        response = client.post("/api/v1/videocreate", json=spec)
        assert response.status_code == 200, response.text
        created = response.json()
        job_id = created["job_id"]
        polled = client.get(f"/api/v1/videoresult/{job_id}").json()
        events = follow_events(client, job_id)
    ws = stack.api.replace("http://", "ws://") + f"/ws/jobs/{job_id}"
    messages, _, _ = asyncio.run(follow(ws))
    return {"created": created, "polled": polled, "events": events, "messages": messages}


def test_the_result_names_both_images_on_every_channel(
    with_images: dict[str, Any], stack: RunningStack
) -> None:
    created, polled = with_images["created"], with_images["polled"]
    assert polled["status"] == "completed"
    poster, thumbnail = polled["poster_url"], polled["thumbnail_url"]
    assert _key(stack, poster) == _key(stack, polled["result_url"]).replace(".mp4", "_poster.jpg")
    assert _key(stack, thumbnail) == _key(stack, polled["result_url"]).replace(".mp4", "_thumb.jpg")
    assert (created["poster_url"], created["thumbnail_url"]) == (poster, thumbnail), "the quick 200"
    assert with_images["events"][-1]["status"] == "completed"
    assert (with_images["events"][-1]["poster_url"], with_images["events"][-1]["thumbnail_url"]) == (
        poster,
        thumbnail,
    ), "SSE"
    last = with_images["messages"][-1]["data"]
    assert (last["poster_url"], last["thumbnail_url"]) == (poster, thumbnail), "WebSocket"
    job_id = polled["job_id"]
    results = asyncio.run(
        read_topic(
            stack.bootstrap,
            "videogen.jobs.results",
            lambda found: any(r["job_id"] == job_id for r in found),
        )
    )
    [result] = [r["result"] for r in results if r["job_id"] == job_id]
    assert (result["poster_url"], result["thumbnail_url"]) == (poster, thumbnail), "the Kafka result"


def test_both_images_are_stored_beside_the_video_and_show_their_frames(
    with_images: dict[str, Any], stack: RunningStack, tmp_path: Path
) -> None:
    polled = with_images["polled"]
    for url in (polled["poster_url"], polled["thumbnail_url"]):
        head = stack.s3().head_object(Bucket=stack.bucket, Key=_key(stack, url))  # type: ignore[attr-defined]
        assert head["ContentType"] == "image/jpeg" and head["ContentLength"] > 0
    poster_size, poster_color = _image(download(polled["poster_url"], tmp_path / "poster.jpg"))
    thumbnail_size, thumbnail_color = _image(download(polled["thumbnail_url"], tmp_path / "thumb.jpg"))
    assert poster_size == (320, 240) and near(poster_color, GREEN)
    assert thumbnail_size == (160, 120) and near(thumbnail_color, BLUE)


def test_an_mp3_job_stores_playable_sound(
    stack: RunningStack, media_server: MediaServer, tmp_path: Path
) -> None:
    spec = {
        "output_format": "mp3",
        "elements": [{"type": "video", "source": media_server.url("blue.mp4")}],  # 3 s with a 440 Hz tone
    }
    with stack.client() as client:
        response = client.post("/api/v1/videocreate", json=spec)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "completed" and body["result_url"].endswith(".mp3")
        assert (body["width"], body["height"], body["output_format"]) == (None, None, "mp3")
        assert body["poster_url"] is None and body["thumbnail_url"] is None
        head = stack.s3().head_object(Bucket=stack.bucket, Key=_key(stack, body["result_url"]))  # type: ignore[attr-defined]
        assert head["ContentType"] == "audio/mpeg"
        refused = client.post("/api/v1/videocreate", json={**spec, "thumbnail": True})
        assert refused.status_code == 400
        assert [f["field"] for f in refused.json()["error"]["details"]["fields"]] == ["thumbnail"]
    path = download(body["result_url"], tmp_path / "out.mp3")
    with av.open(str(path)) as container:
        assert not container.streams.video
        stream = container.streams.audio[0]
        assert stream.codec_context.name in ("mp3", "mp3float") and stream.sample_rate == 48_000
        samples = [frame.to_ndarray() for frame in container.decode(stream)]
    assert sum(s.shape[-1] for s in samples) / 48_000 == pytest.approx(3.0, abs=0.1)
    assert max(float(abs(s).max()) for s in samples) > 0.05, "the tone is heard"
    assert httpx.get(body["result_url"], timeout=30).headers["content-type"] == "audio/mpeg"
