"""Ending jobs on the client's terms: cancel mid-render, and signed result callbacks."""

from __future__ import annotations

import http.server
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from agents.callbacks import SIGNATURE_HEADER, verify
from tests.e2e.conftest import CALLBACK_SECRET, MediaServer, RunningStack
from tests.e2e.test_pipeline import prd_example, wait_for_terminal

pytestmark = pytest.mark.e2e


def slow_job(media: MediaServer, seconds: float) -> dict[str, Any]:
    """A render that takes a while on any machine: noise, looped, at 720p, at the lowest quality
    to keep the file small (the quick threshold is exceeded, so POST answers 202 at once)."""
    return {
        "output_format": "mp4",
        "width": 1280,
        "height": 720,
        "duration": seconds,
        "crf": 51,
        "elements": [
            {"type": "video", "source": media.url("noise.mp4"), "duration_mode": "loop"},
            {"type": "text", "text": "still here", "font_size": 64, "color": "#ffffff"},
        ],
    }


def wait_for_step(client: httpx.Client, job_id: str, prefix: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/api/v1/videoresult/{job_id}")
        body = response.json() if response.status_code == 200 else {}
        if body.get("current_step", "").startswith(prefix):
            return dict(body)
        assert body.get("status") not in ("completed", "failed", "cancelled"), (
            f"ended before {prefix!r}: {body}"
        )
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached step {prefix!r}")


def ffmpeg_running_for(job_id: str) -> bool:
    found = subprocess.run(["pgrep", "-f", f"ffmpeg.*{job_id}"], capture_output=True, text=True)
    return bool(found.stdout.strip())


def test_cancel_mid_render_kills_ffmpeg_and_uploads_nothing(
    stack: RunningStack, media_server: MediaServer
) -> None:
    with stack.client() as client:
        accepted = client.post("/api/v1/videocreate", json=slow_job(media_server, 300))
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job_id"]
        wait_for_step(client, job_id, "rendering", timeout=90)
        started = time.monotonic() + 10  # the step is announced just before FFmpeg is spawned
        while not ffmpeg_running_for(job_id) and time.monotonic() < started:
            time.sleep(0.1)
        assert ffmpeg_running_for(job_id)
        cancelled = client.delete(f"/api/v1/videoresult/{job_id}")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert client.get(f"/api/v1/videoresult/{job_id}").json()["status"] == "cancelled"
        again = client.delete(f"/api/v1/videoresult/{job_id}")
        assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
    deadline = time.monotonic() + 20
    while (
        ffmpeg_running_for(job_id) or (stack.data_dir / "work" / job_id).exists()
    ) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not ffmpeg_running_for(job_id), "FFmpeg still running after cancel"
    assert not (stack.data_dir / "work" / job_id).exists(), "temp files left after cancel"
    listed = stack.s3().list_objects_v2(Bucket=stack.bucket, Prefix=f"processed/video_{job_id}_")  # type: ignore[attr-defined]
    assert listed.get("KeyCount", 0) == 0


def test_cancel_unknown_job_is_404(stack: RunningStack) -> None:
    with stack.client() as client:
        assert client.delete("/api/v1/videoresult/vg_ffffffffffff").status_code == 404


@pytest.fixture()
def receiver() -> Iterator[tuple[str, queue.Queue[tuple[dict[str, str], bytes]]]]:
    """A webhook endpoint that fails its first call, then records what it receives."""
    received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
    calls = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            calls["n"] += 1
            if calls["n"] == 1:
                self.send_response(503)
                self.end_headers()
                return
            received.put((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def test_callback_is_signed_retried_and_recorded(
    stack: RunningStack,
    media_server: MediaServer,
    receiver: tuple[str, queue.Queue[tuple[dict[str, str], bytes]]],
) -> None:
    url, received = receiver
    with stack.client() as client:
        response = client.post("/api/v1/videocreate", json={**prd_example(media_server), "callback_url": url})
        assert response.status_code == 200, response.text
        job_id = response.json()["job_id"]
        headers, body = received.get(timeout=60)
    assert verify(CALLBACK_SECRET, headers[SIGNATURE_HEADER], body)
    assert not verify("wrong-secret", headers[SIGNATURE_HEADER], body)
    payload = orjson.loads(body)
    assert payload["job_id"] == job_id and payload["status"] == "completed"
    assert payload["result"]["result_url"] == response.json()["result_url"]
    with stack.client() as client:
        assert wait_for_terminal(client, job_id)["status"] == "completed"
