"""Seed 003's routes through the real stack: an inline track template rendered with its inputs,
followed over the WebSocket and by status to completed, its signed webhook received (after one
refused delivery, so retried) and verified; a failure kept with its error and announced by
webhook; a long render cancelled mid-way."""

from __future__ import annotations

import asyncio
import queue
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from agents.callbacks import SIGNATURE_HEADER, verify
from tests.e2e.conftest import CALLBACK_SECRET, MediaServer, RunningStack
from tests.e2e.test_cancel_and_callbacks import ffmpeg_running_for, receiver
from tests.e2e.test_pipeline import download
from tests.e2e.ws_client import follow
from tests.media import frame_at, near, probe_output

pytestmark = pytest.mark.e2e

__all__ = ["receiver"]  # the webhook endpoint fixture

Receiver = tuple[str, queue.Queue[tuple[dict[str, str], bytes]]]


def _tracks(media: MediaServer) -> dict[str, Any]:
    return {
        "width": 320,
        "height": 240,
        "duration": 2,
        "tracks": [
            {"type": "background", "color": "{{brand}}"},
            {"type": "image", "src": "{{photo}}", "x": 0, "y": 0, "width": 100, "height": 100},
            {"type": "text", "text": "Hi {{name}}", "x": 120, "y": 80, "width": 190, "height": 80,
             "fontSize": 36, "color": "#ffffff", "animation": "fade"},
            {"type": "audio", "src": media.url("blue.mp4"), "volume": 0.5},
        ],
    }  # fmt: skip


def _status(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/api/video/status/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _until_ended(client: httpx.Client, job_id: str, timeout: float = 180.0) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.append(_status(client, job_id))
        if seen[-1]["status"] in ("completed", "failed", "cancelled"):
            return seen
        time.sleep(0.3)
    raise AssertionError(f"{job_id} did not end within {timeout}s")


def _webhook(received: queue.Queue[tuple[dict[str, str], bytes]]) -> dict[str, Any]:
    headers, body = received.get(timeout=120)
    assert verify(CALLBACK_SECRET, headers[SIGNATURE_HEADER], body), "signed with the callback secret"
    assert not verify("another-secret", headers[SIGNATURE_HEADER], body)
    return dict(orjson.loads(body))


def test_generate_follow_and_receive_the_signed_webhook(
    stack: RunningStack, media_server: MediaServer, receiver: Receiver, tmp_path: Path
) -> None:
    url, received = receiver
    inputs = {"brand": "#0000ff", "photo": media_server.url("red.png"), "name": "Ada"}
    with stack.client() as client:
        response = client.post(
            "/api/video/generate",
            json={"template": _tracks(media_server), "inputs": inputs, "webhook_url": url},
        )
        assert response.status_code == 202, response.text
        accepted = response.json()
        job_id = accepted["jobId"]
        assert accepted["status"] == "queued" and accepted["statusUrl"] == f"/api/video/status/{job_id}"
        messages, close_code, _ = asyncio.run(follow(accepted["websocketUrl"]))
        polled = _until_ended(client, job_id)
    assert close_code == 1000 and messages[-1]["event"] == "completed"
    final = polled[-1]
    assert final["status"] == "completed" and final["progress"] == 100 and final["error"] is None
    assert final["result"]["videoUrl"].endswith(".mp4") and (
        final["result"]["width"],
        final["result"]["height"],
    ) == (320, 240)

    payload = _webhook(received)
    assert payload["job_id"] == job_id and payload["status"] == "completed"
    assert payload["result"]["result_url"] == final["result"]["videoUrl"]
    with stack.client() as client:
        deadline = time.monotonic() + 30
        while _status(client, job_id)["webhook"] is None and time.monotonic() < deadline:
            time.sleep(0.3)
        webhook = _status(client, job_id)["webhook"]
    assert webhook == {"delivered": True, "attempts": 2, "statusCode": 204}, "refused once, retried"

    video = download(final["result"]["videoUrl"], tmp_path / "generated.mp4")
    probed = probe_output(video)
    assert (probed.width, probed.height, probed.audio_codec) == (320, 240, "aac")
    assert abs(probed.duration - 2.0) < 0.1
    frame = frame_at(video, 1.0)
    assert near(tuple(int(c) for c in frame[50, 50]), (255, 0, 0)), "the photo input"
    assert near(tuple(int(c) for c in frame[220, 20]), (0, 0, 255)), "the brand input"
    assert (frame[90:150, 130:300] >= 200).all(axis=-1).sum() > 50, "the name's text"


def test_a_failure_is_kept_and_announced(
    stack: RunningStack, media_server: MediaServer, receiver: Receiver
) -> None:
    url, received = receiver
    inputs = {"brand": "#000000", "photo": media_server.url("missing.png"), "name": "Ada"}
    body = {"template": _tracks(media_server), "inputs": inputs, "webhook_url": url}
    with stack.client() as client:
        job_id = client.post("/api/video/generate", json=body).json()["jobId"]
        final = _until_ended(client, job_id)[-1]
    assert final["status"] == "failed" and final["result"] is None
    assert final["error"]["code"] == "SOURCE_DOWNLOAD_FAILED" and "404" in final["error"]["message"]
    payload = _webhook(received)
    assert payload["job_id"] == job_id and payload["status"] == "failed"
    assert payload["error"]["code"] == "SOURCE_DOWNLOAD_FAILED"
    with stack.client() as client:
        assert _status(client, job_id)["error"] == final["error"], "kept for inspection"


def test_cancel_mid_render(stack: RunningStack, media_server: MediaServer) -> None:
    slow = {
        "width": 1280,
        "height": 720,
        "duration": 300,
        "tracks": [
            {"type": "background", "src": media_server.url("noise.mp4")},
            {"type": "text", "text": "{{t}}"},
        ],
    }
    with stack.client() as client:
        job_id = client.post("/api/video/generate", json={"template": slow, "inputs": {"t": "slow"}}).json()[
            "jobId"
        ]
        deadline = time.monotonic() + 90
        while not _status(client, job_id)["currentStep"].startswith("rendering") or not ffmpeg_running_for(
            job_id
        ):
            assert time.monotonic() < deadline, _status(client, job_id)
            time.sleep(0.2)
        cancelled = client.delete(f"/api/video/cancel/{job_id}")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled" and cancelled.json()["error"]["code"] == "CANCELLED"
        assert _status(client, job_id)["status"] == "cancelled"
        again = client.delete(f"/api/video/cancel/{job_id}")
        assert (again.status_code, again.json()["error"]["code"]) == (409, "CONFLICT")
    deadline = time.monotonic() + 20
    while ffmpeg_running_for(job_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not ffmpeg_running_for(job_id), "FFmpeg stopped"
