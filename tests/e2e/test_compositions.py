"""Seed 004's compositions API through the real stack: a composition of two clips and a text
overlay followed over its WebSocket and by polling to the end, its output's size and pixels, its
thumbnail in S3, the download redirect and the metadata; and the refusals in the seed's codes."""

from __future__ import annotations

import asyncio
import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from tests.e2e.conftest import MediaServer, RunningStack
from tests.e2e.test_pipeline import download
from tests.e2e.ws_client import follow
from tests.media import ffmpeg, near, pixel, probe_output

pytestmark = pytest.mark.e2e

BLUE, GREEN = (0, 0, 255), (0, 128, 0)
TEXT_TOP, TEXT_SIZE = 100, 96


def _composition(media: MediaServer) -> dict[str, Any]:
    """Blue for 2 s, then green fading in over 0.5 s until 4 s; white text at the top center for 1.5 s."""
    return {
        "clips": [
            {"url": media.url("blue.mp4"), "start_time": 0, "end_time": 2, "trim_start": 0, "trim_end": 2},
            {
                "url": media.url("green_long.mp4"),
                "start_time": 2,
                "end_time": 4,
                "trim_start": 1,
                "trim_end": 3,
                "transition_in": "fade",
                "transition_duration": 0.5,
            },
        ],
        "overlays": [
            {
                "type": "text",
                "content": "HELLO",
                "position": {"x": "center", "y": TEXT_TOP},
                "start_time": 0,
                "duration": 1.5,
                "style": {"size": TEXT_SIZE, "color": "#FFFFFF", "shadow": False},
            }
        ],
        "output": {"resolution": "720p"},
    }


def _poll(api: str, composition_id: str, timeout: float = 180.0) -> list[dict[str, Any]]:
    """Every status GET answers until the composition ends."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=api, timeout=30) as client:
        while time.monotonic() < deadline:
            response = client.get(f"/api/v1/compositions/{composition_id}")
            assert response.status_code == 200, response.text
            seen.append(response.json())
            if seen[-1]["status"] in ("completed", "failed", "cancelled"):
                return seen
            time.sleep(0.3)
    raise AssertionError(f"composition {composition_id} did not end within {timeout}s")


def _frame(path: Path, t: float) -> np.ndarray[Any, Any]:
    """The output frame shown at `t` seconds, as RGB."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= t:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame at {t}s")


def _white(region: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.asarray(np.all(region >= 200, axis=-1))


@pytest.fixture(scope="module")
def finished(stack: RunningStack, media_server: MediaServer) -> dict[str, Any]:
    """One composition, created, followed over its WebSocket and polled to the end."""
    with stack.client() as client:
        response = client.post("/api/v1/compositions", json=_composition(media_server))
    assert response.status_code == 202, response.text
    accepted = response.json()

    async def both() -> tuple[tuple[list[dict[str, Any]], int, str], list[dict[str, Any]]]:
        return await asyncio.gather(
            follow(accepted["websocket_url"]),
            asyncio.to_thread(_poll, stack.api, accepted["composition_id"]),
        )

    (messages, close_code, _), polled = asyncio.run(both())
    return {"accepted": accepted, "messages": messages, "close_code": close_code, "polled": polled}


def test_created_then_polled_to_completed(finished: dict[str, Any], stack: RunningStack) -> None:
    accepted, polled = finished["accepted"], finished["polled"]
    composition_id = accepted["composition_id"]
    assert composition_id.startswith("comp_") and accepted["status"] == "queued"
    assert accepted["created_at"].endswith("Z") and accepted["estimated_duration"] >= 1
    assert (
        accepted["websocket_url"]
        == stack.api.replace("http://", "ws://") + f"/ws/compositions/{composition_id}"
    )
    final = polled[-1]
    assert final["status"] == "completed", final
    assert final["progress"]["percentage"] == 100
    assert final["output_url"].endswith(".mp4") and final["thumbnail_url"].endswith("_thumb.jpg")
    assert final["updated_at"] >= final["created_at"] == accepted["created_at"]
    percentages = [p["progress"]["percentage"] for p in polled]
    assert percentages == sorted(percentages)


def test_the_output_is_720p_with_the_clips_in_order_and_the_text_where_asked(
    finished: dict[str, Any], tmp_path: Path
) -> None:
    path = download(finished["polled"][-1]["output_url"], tmp_path / "out.mp4")
    probed = probe_output(path)
    assert (probed.width, probed.height, probed.video_codec) == (1280, 720, "h264")
    assert probed.duration == pytest.approx(4.0, abs=0.1)
    assert near(pixel(path, 0.5, 640, 600), BLUE), "the first clip first"
    assert near(pixel(path, 3.5, 640, 600), GREEN), "the second clip after the transition"
    assert near(pixel(path, 3.5, 40, 40), GREEN), "cover-fitted to the whole frame"

    early, late = _frame(path, 1.0), _frame(path, 3.5)
    band = slice(TEXT_TOP - 10, TEXT_TOP + TEXT_SIZE + 10)
    ys, xs = np.nonzero(_white(early[band]))
    assert len(xs) > 500, "white text in the band below y=100"
    assert abs((xs.min() + xs.max()) / 2 - 640) < 20, "centered horizontally"
    assert ys.min() + band.start >= TEXT_TOP - 2, "its top at y=100"
    assert not _white(early[TEXT_TOP + TEXT_SIZE + 40 :]).any(), "nothing white below the text"
    assert not _white(late).any(), "the overlay has ended by 3.5 s"


def test_a_jpeg_thumbnail_is_stored_next_to_the_video(finished: dict[str, Any], stack: RunningStack) -> None:
    final = finished["polled"][-1]
    key = final["thumbnail_url"].split(f"/{stack.bucket}/", 1)[1]
    assert key == final["output_url"].split(f"/{stack.bucket}/", 1)[1].replace(".mp4", "_thumb.jpg")
    stored = stack.s3().get_object(Bucket=stack.bucket, Key=key)  # type: ignore[attr-defined]
    assert stored["ContentType"] == "image/jpeg"
    data = stored["Body"].read()
    assert data[:3] == b"\xff\xd8\xff"
    with av.open(io.BytesIO(data)) as container:
        [image] = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert image.shape == (360, 640, 3), "at most 640 px wide, the output's aspect"
    assert near(tuple(int(c) for c in image[300, 320]), BLUE), "a frame 1 s in: the first clip"  # type: ignore[arg-type]


def test_download_redirects_to_the_video(finished: dict[str, Any], stack: RunningStack) -> None:
    composition_id = finished["accepted"]["composition_id"]
    with stack.client() as client:
        response = client.get(f"/api/v1/compositions/{composition_id}/download", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == finished["polled"][-1]["output_url"]


def test_metadata_has_stage_timings_inputs_output_and_encoder(
    finished: dict[str, Any], stack: RunningStack, media_server: MediaServer
) -> None:
    composition_id = finished["accepted"]["composition_id"]
    with stack.client() as client:
        meta = client.get(f"/api/v1/compositions/{composition_id}/metadata").json()
    assert {"validate", "fetch", "render", "upload"} <= set(meta["stages"])
    for name in ("fetch", "render", "upload"):
        timing = meta["stages"][name]
        assert timing["seconds"] is not None and timing["seconds"] >= 0 and timing["attempts"] >= 1, name
    assert meta["stages"]["render"]["seconds"] > 0
    assert meta["processing_seconds"] > 0
    output = meta["output"]
    assert (output["width"], output["height"], output["video_codec"]) == (1280, 720, "h264")
    assert output["duration_seconds"] == pytest.approx(4.0, abs=0.1) and output["size_bytes"] > 0
    assert (meta["encoder"]["video_codec"], meta["encoder"]["crf"], meta["encoder"]["fps"]) == (
        "libx264",
        21,
        30,
    )
    inputs = {i["element"]: i for i in meta["inputs"]}
    assert inputs["clips.0"]["url"] == media_server.url("blue.mp4")
    assert (inputs["clips.0"]["width"], inputs["clips.1"]["width"]) == (640, 320)
    assert inputs["clips.1"]["duration_seconds"] == pytest.approx(40.0, abs=0.1)


def test_the_websocket_sends_progress_then_completed_then_closes(finished: dict[str, Any]) -> None:
    messages, code = finished["messages"], finished["close_code"]
    assert code == 1000
    *progress, last = messages
    assert progress and all(m["type"] == "progress" for m in progress)
    percentages = [m["data"]["percentage"] for m in progress]
    assert percentages == sorted(percentages)
    assert {m["data"]["stage"] for m in progress} >= {"encoding"}
    assert all(m["data"]["timestamp"].endswith("Z") and m["data"]["message"] for m in progress)
    assert last["type"] == "completed"
    assert last["data"]["output_url"] == finished["polled"][-1]["output_url"]
    assert last["data"]["thumbnail_url"] == finished["polled"][-1]["thumbnail_url"]


def test_refusals_use_the_seed_codes_with_field_paths(stack: RunningStack, media_server: MediaServer) -> None:
    clip = media_server.url("blue.mp4")
    overlapping = {"clips": [{"url": clip, "end_time": 2}, {"url": clip, "start_time": 1.5, "end_time": 3}]}
    with stack.client() as client:
        response = client.post("/api/v1/compositions", json=overlapping)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "INVALID_TIMELINE" and error["request_id"]
        assert [f["field"] for f in error["details"]["fields"]] == ["clips.1.start_time"]

        response = client.post("/api/v1/compositions", json={"clips": [{"url": media_server.url("red.png")}]})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "INVALID_CLIP_FORMAT"

        for path in ("comp_000000000000", "comp_000000000000/metadata", "comp_000000000000/download"):
            response = client.get(f"/api/v1/compositions/{path}")
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "COMPOSITION_NOT_FOUND"


def test_ten_concurrent_compositions_are_all_accepted_and_completed(
    stack: RunningStack, media_server: MediaServer
) -> None:
    """Seed 004's load scenario, each in its integration test's minimal form (one clip, a URL)."""
    body = {"clips": [{"url": media_server.url("blue.mp4")}], "output": {"resolution": "480p"}}

    def create(_: int) -> httpx.Response:
        with stack.client() as client:
            return client.post("/api/v1/compositions", json=body)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(create, range(10)))
    assert [a.status_code for a in answers] == [202] * 10, [a.text for a in answers if a.status_code != 202]
    ids = {a.json()["composition_id"] for a in answers}
    assert len(ids) == 10
    finals = [_poll(stack.api, composition_id)[-1] for composition_id in sorted(ids)]
    assert [f["status"] for f in finals] == ["completed"] * 10, finals
    assert len({f["output_url"] for f in finals}) == 10


def _tone_amplitude(path: Path, start: float, end: float, freq: float) -> float:
    """Amplitude of one frequency in the mixed-down sound between start and end (a sine of
    amplitude A reads A)."""
    with av.open(str(path)) as container:
        chunks, rate = [], 48000
        for frame in container.decode(audio=0):
            data = frame.to_ndarray().astype(np.float64)
            mono = data.reshape(-1, frame.samples).mean(axis=0) if data.ndim > 1 else data
            times = frame.time + np.arange(frame.samples) / frame.sample_rate
            chunks.append(mono[(times >= start) & (times < end)])
            rate = frame.sample_rate
    samples = np.concatenate(chunks)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) / (samples.size / 4)
    bin_at = round(freq * samples.size / rate)
    return float(spectrum[max(0, bin_at - 2) : bin_at + 3].max())


def test_music_and_voiceover_are_both_audible(
    stack: RunningStack, media_server: MediaServer, tmp_path: Path
) -> None:
    for name, freq in (("music.m4a", 200), ("voice.m4a", 3000)):
        sine = f"sine=frequency={freq}:sample_rate=48000:duration=2,volume=4"
        ffmpeg("-f", "lavfi", "-i", sine, "-c:a", "aac", "-threads", "1", str(media_server.root / name))
    body = {
        "clips": [{"url": media_server.url("blue.mp4"), "end_time": 3}],
        "audio": {
            "music_url": media_server.url("music.m4a"),
            "voiceover_url": media_server.url("voice.m4a"),
            "music_volume": 0.8,
            "voiceover_volume": 1.0,
        },
        "output": {"resolution": "480p"},
    }
    with stack.client() as client:
        response = client.post("/api/v1/compositions", json=body)
    assert response.status_code == 202, response.text
    final = _poll(stack.api, response.json()["composition_id"])[-1]
    assert final["status"] == "completed", final
    path = download(final["output_url"], tmp_path / "sound.mp4")
    assert probe_output(path).audio_codec == "aac"
    voice, music = _tone_amplitude(path, 0.5, 1.8, 3000), _tone_amplitude(path, 0.5, 1.8, 200)
    assert voice > 0.05, "the voice-over is heard"
    assert music > 0.01, "the music is heard, ducked under the voice"
    assert _tone_amplitude(path, 2.5, 2.95, 200) > music, "the music comes back up once the voice ends"
