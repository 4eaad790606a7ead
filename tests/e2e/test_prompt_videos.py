"""Seed 002's manual testing flow as a test, through the real stack: create a prompt job, check its
status, wait, check again. Every style and every aspect ratio gives a completed job whose video
has the asked duration (within one frame) and aspect ratio, music, frames that are not blank, and
scenes that differ; refusals in the seed's shape."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from generator.storyboard import storyboard
from generator.styles import STYLES
from tests.e2e.conftest import RunningStack
from tests.e2e.test_pipeline import download
from tests.media import frame_at, probe_output

pytestmark = pytest.mark.e2e

SEED_BODY = {"prompt": "fun science brain animation", "style": "fun", "duration": 8, "aspectRatio": "16:9"}
# every style and every aspect ratio at least once; the seed's own example first
CASES = [
    SEED_BODY,
    {
        "prompt": "A quiet morning by the lake. Mist rises, birds sing.",
        "style": "calm",
        "duration": 4,
        "aspectRatio": "9:16",
    },
    {
        "prompt": "Soft rain on a window at night",
        "style": "background",
        "duration": 3.5,
        "aspectRatio": "1:1",
    },
    {
        "prompt": "Big news: our summer sale starts today!",
        "style": "fun",
        "duration": 3,
        "aspectRatio": "4:3",
    },
]
RATIOS = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0, "4:3": 4 / 3}
FPS = 30


def _get(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/api/videos/{job_id}")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["success"] is True
    return dict(answer["data"])


def _until_ended(client: httpx.Client, job_id: str, timeout: float = 240.0) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.append(_get(client, job_id))
        if seen[-1]["status"] in ("completed", "failed"):
            return seen
        time.sleep(0.5)
    raise AssertionError(f"{job_id} did not end within {timeout}s")


@pytest.fixture(scope="module")
def created(stack: RunningStack) -> list[tuple[dict[str, Any], str]]:
    """Every case submitted at once (the worker renders them in turn)."""
    jobs = []
    with stack.client() as client:
        for body in CASES:
            response = client.post("/api/videos/generate", json=body)
            assert response.status_code == 201, response.text
            answer = response.json()
            assert answer["success"] is True and answer["data"]["status"] == "queued"
            jobs.append((body, answer["data"]["jobId"]))
    return jobs


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c['style']}-{c['aspectRatio']}" for c in CASES])
def test_each_style_and_ratio_renders_the_prompt(
    stack: RunningStack, created: list[tuple[dict[str, Any], str]], case: int, tmp_path: Path
) -> None:
    body, job_id = created[case]
    with stack.client() as client:
        first = _get(client, job_id)
        assert first["status"] in ("queued", "processing", "completed")
        assert (first["prompt"], first["style"], first["duration"], first["aspectRatio"]) == (
            body["prompt"], body["style"], body["duration"], body["aspectRatio"]
        )  # fmt: skip
        final = _until_ended(client, job_id)[-1]
    assert final["status"] == "completed", final
    assert final["errorMessage"] is None and final["updatedAt"] >= final["createdAt"]

    video = download(final["videoUrl"], tmp_path / "prompt.mp4")
    probed = probe_output(video)
    assert abs(probed.duration - body["duration"]) <= 1 / FPS, probed
    assert abs(probed.width / probed.height - RATIOS[body["aspectRatio"]]) < 0.01
    assert (probed.video_codec, probed.audio_codec) == ("h264", "aac"), "the music bed is mixed in"

    scenes = storyboard(body["prompt"], body["duration"], STYLES[body["style"]], FPS)
    assert len(scenes) >= 2
    frames = [frame_at(video, scene.start + scene.length * 0.6) for scene in scenes[:2]]
    for frame in frames:
        assert frame.reshape(-1, 3).std(axis=0).max() > 8, "not a blank frame"
    difference = np.abs(frames[0].astype(int) - frames[1].astype(int)).mean()
    assert difference > 3, "the scenes differ"


def test_refusals_are_in_the_seeds_shape(stack: RunningStack) -> None:
    with stack.client() as client:
        invalid = client.post("/api/videos/generate", json={**SEED_BODY, "style": "loud", "duration": 90})
        assert invalid.status_code == 400
        answer = invalid.json()
        assert answer["success"] is False and answer["error"]["code"] == "INVALID_INPUT"
        assert {f["field"] for f in answer["error"]["details"]["fields"]} == {"style", "duration"}
        unknown = client.get("/api/videos/prompt_000000000000")
        assert unknown.status_code == 404 and unknown.json()["success"] is False
