"""Seed 004's internal process-clips route through the real stack: two clips of different sizes
normalized, graded and thumbnailed, then one signed callback listing both; and the refusals
without the internal key."""

from __future__ import annotations

import http.server
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from agents.callbacks import SIGNATURE_HEADER, verify
from tests.e2e.api_instance import extra_api
from tests.e2e.conftest import CALLBACK_SECRET, MediaServer, RunningStack
from tests.e2e.test_pipeline import download
from tests.media import make_color_video, pixel, probe_output

pytestmark = pytest.mark.e2e

INTERNAL_KEY = "e2e-internal-key"
Received = queue.Queue[tuple[dict[str, str], bytes]]


@pytest.fixture(scope="module")
def internal_api(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with extra_api(
        stack, tmp_path_factory.mktemp("internal-api"), INTERNAL_API_KEYS=f"ai-backend:{INTERNAL_KEY}"
    ) as url:
        yield url


@pytest.fixture()
def receiver() -> Iterator[tuple[str, Received]]:
    """A webhook endpoint recording every call."""
    received: Received = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.put((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/processing-complete", received
    finally:
        server.shutdown()
        server.server_close()


def test_two_clips_are_normalized_graded_and_reported_in_one_signed_callback(
    stack: RunningStack,
    media_server: MediaServer,
    internal_api: str,
    receiver: tuple[str, Received],
    tmp_path: Path,
) -> None:
    for name, size in (("grey_640x480.mp4", (640, 480)), ("grey_320x240.mp4", (320, 240))):
        make_color_video(media_server.root / name, color="gray", size=size, seconds=1.5, audio=True)
    url, received = receiver
    body = {
        "processing_id": "proc_e2e",
        "clips": [media_server.url("grey_640x480.mp4"), media_server.url("grey_320x240.mp4")],
        "operations": ["normalize", "color_correct", "thumbnail"],
        "color_preset": "warm",
        "callback_url": url,
    }
    with httpx.Client(base_url=internal_api, timeout=30, headers={"X-API-Key": INTERNAL_KEY}) as client:
        accepted = client.post("/internal/v1/process-clips", json=body)
        assert accepted.status_code == 202, accepted.text
        answer = accepted.json()
        job_ids = [clip["job_id"] for clip in answer["clips"]]
        assert answer["processing_id"] == "proc_e2e" and all(job_ids)

        headers, raw = received.get(timeout=180)
        assert verify(CALLBACK_SECRET, headers[SIGNATURE_HEADER], raw)
        callback = orjson.loads(raw)
        assert (callback["processing_id"], callback["batch_id"]) == ("proc_e2e", answer["batch_id"])
        assert (callback["status"], callback["completed"], callback["failed"]) == ("completed", 2, 0)
        assert [c["job_id"] for c in callback["clips"]] == job_ids
        assert [c["clip"] for c in callback["clips"]] == body["clips"]
        for n, clip in enumerate(callback["clips"]):
            assert clip["status"] == "completed" and "error" not in clip
            assert clip["file_size_bytes"] > 0 and abs(clip["duration_seconds"] - 1.5) < 0.2
            video = probe_output(download(clip["output_url"], tmp_path / f"clip{n}.mp4"))
            assert (video.width, video.height, round(video.fps)) == (1280, 720, 30)
            assert (video.video_codec, video.audio_codec) == ("h264", "aac")
            r, _, b = pixel(tmp_path / f"clip{n}.mp4", 0.5, 640, 360)
            assert r - b >= 15, f"warm preset not visible: {(r, _, b)}"
            assert max(pixel(tmp_path / f"clip{n}.mp4", 0.5, 40, 360)) <= 24, "4:3 fits inside black bars"
            thumbnail = httpx.get(clip["thumbnail_url"], timeout=30)
            assert thumbnail.status_code == 200 and thumbnail.content[:2] == b"\xff\xd8"
            status = client.get(f"/internal/v1/jobs/{clip['job_id']}")
            assert status.status_code == 200 and status.json()["status"] == "completed"
    with pytest.raises(queue.Empty):
        received.get(timeout=3)  # one callback for the request, none per clip


def test_internal_routes_refuse_without_the_internal_key(stack: RunningStack, internal_api: str) -> None:
    body = {
        "processing_id": "proc_refused",
        "clips": ["https://cdn.example.com/raw.mp4"],
        "operations": ["normalize"],
        "callback_url": "https://hooks.example.com/done",
    }
    no_key = httpx.post(f"{internal_api}/internal/v1/process-clips", json=body, timeout=30)
    assert no_key.status_code == 401 and no_key.json()["error"]["code"] == "UNAUTHORIZED"
    # the session stack's API has no INTERNAL_API_KEYS: its internal routes are closed to anyone
    closed = httpx.post(f"{stack.api}/internal/v1/process-clips", json=body, timeout=30)
    assert closed.status_code == 403 and closed.json()["error"]["code"] == "FORBIDDEN"
