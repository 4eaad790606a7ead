"""A long video rendered in chunks by two workers through the real stack (Tansu, moto, FFmpeg):
the joined file equals the one-pass render, a worker killed mid-chunk costs nothing but time, and
a job rendered again copies its chunks from the chunk cache in the bucket."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from media.render import render_video
from schemas.settings import Settings
from schemas.spec import VideoSpec
from tests.e2e.conftest import MediaServer
from tests.e2e.kafka_io import read_topic
from tests.e2e.test_pipeline import follow_events, wait_for_terminal
from tests.e2e.test_scale_out import Cluster, two_workers
from tests.media import frame_times, psnr

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from two_workers(tmp_path_factory.mktemp("chunked"), CHUNK_MIN_SECONDS="5", CHUNK_SECONDS="4")


def long_job(media: MediaServer, seconds: int, size: tuple[int, int] = (320, 240)) -> dict[str, Any]:
    """A transition and an animated title crossing the chunk boundaries (every 4 s), music under it."""
    slide = {"type": "slide", "direction": "left", "duration": 0.8}
    return {
        "output_format": "mp4",
        "width": size[0],
        "height": size[1],
        "fps": 10,
        "duration": seconds,
        "elements": [
            {"type": "color", "color": "#0000ff", "duration": 4.5},
            {"type": "color", "color": "#ff0000", "time": 3.5,
             "transition": {"type": "wipeleft", "duration": 1}},
            {"type": "text", "text": "Across the cut", "track": 2, "time": 7.6, "duration": 3, "x": 10,
             "y": 10, "font_size": 24, "animations": [slide]},
            {"type": "color", "color": "#ffff00", "track": 3, "width": 20, "height": 20, "y": 200,
             "x": [{"time": 0, "value": 0}, {"time": seconds, "value": size[0] - 20}]},
            {"type": "audio", "source": media.url("green_long.mp4"), "volume": 0.5},
        ],
    }  # fmt: skip


def _download(cluster: Cluster, url: str, path: Path) -> Path:
    path.write_bytes(httpx.get(url, timeout=60).content)
    return path


def _chunk_log_lines(cluster: Cluster, job_id: str) -> dict[str, int]:
    """Chunks each worker started for the job, from its log."""
    counts = {}
    for worker in cluster.workers:
        assert worker.log_path is not None
        text = worker.log_path.read_text(errors="replace")
        counts[worker.name] = len(re.findall(rf"rendering chunk \d+/\d+ of {job_id}", text))
    return counts


def test_long_video_is_rendered_in_chunks_equal_to_one_pass(
    cluster: Cluster, media_server: MediaServer, tmp_path: Path
) -> None:
    spec = long_job(media_server, 12)
    with cluster.client() as client:
        accepted = client.post("/api/v1/videocreate", json=spec)
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job_id"]
        steps = [event.get("current_step") for event in follow_events(client, job_id)]
        final = wait_for_terminal(client, job_id)
    assert final["status"] == "completed", final
    assert "rendered chunk 3 of 3" in steps, steps
    assert sum(_chunk_log_lines(cluster, job_id).values()) >= 3
    chunked = _download(cluster, final["result_url"], tmp_path / "chunked.mp4")
    local = {4: media_server.root / "green_long.mp4"}
    one_pass = asyncio.run(
        render_video(
            VideoSpec.model_validate(spec),
            local,
            tmp_path / "one_pass.mp4",
            settings=Settings(ffmpeg_threads=1),
        )
    ).path
    assert frame_times(chunked) == frame_times(one_pass) and len(frame_times(one_pass)) == 120
    assert psnr(chunked, one_pass) >= 45


def test_a_job_rendered_again_copies_its_chunks_from_the_cache(
    cluster: Cluster, media_server: MediaServer, tmp_path: Path
) -> None:
    spec = long_job(media_server, 12, (480, 270))
    finals = []
    with cluster.client() as client:
        for _ in range(2):
            accepted = client.post("/api/v1/videocreate", json=spec)
            assert accepted.status_code == 202, accepted.text
            finals.append(wait_for_terminal(client, accepted.json()["job_id"]))
    first, again = finals
    assert first["status"] == again["status"] == "completed", finals
    assert (first["chunks_reused"], first["chunks_rendered"]) == (0, 3)
    assert (again["chunks_reused"], again["chunks_rendered"]) == (3, 0)
    assert sum(_chunk_log_lines(cluster, again["job_id"]).values()) == 0  # no chunk was rendered
    paths = [_download(cluster, f["result_url"], tmp_path / f"{n}.mp4") for n, f in enumerate(finals)]
    assert frame_times(paths[0]) == frame_times(paths[1]) and psnr(paths[0], paths[1]) == float("inf")


def test_worker_killed_mid_chunk_job_completes_once(cluster: Cluster, media_server: MediaServer) -> None:
    with cluster.client() as client:
        accepted = client.post("/api/v1/videocreate", json=long_job(media_server, 40, (960, 540)))
        job_id = accepted.json()["job_id"]
    coordinator = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # a chunk started by the worker that is not joining them
        for worker in cluster.workers:
            assert worker.log_path is not None
            text = worker.log_path.read_text(errors="replace")
            if re.search(rf"rendering {job_id} in \d+ chunks", text):
                coordinator = worker
        helpers = [
            w for w in cluster.workers if w is not coordinator and _chunk_log_lines(cluster, job_id)[w.name]
        ]
        if coordinator is not None and helpers:
            break
        time.sleep(0.3)
    assert coordinator is not None and helpers, "no chunk was rendered by the other worker"
    victim = helpers[0]
    assert victim.process is not None
    os.killpg(victim.process.pid, signal.SIGKILL)
    victim.process.wait(10)
    with cluster.client() as client:
        final = wait_for_terminal(client, job_id, timeout=300)
    assert final["status"] == "completed", final
    assert abs(final["duration_seconds"] - 40) <= 0.2
    results = asyncio.run(read_topic(cluster.settings.bootstrap_servers, "videogen.jobs.results"))
    assert [r["status"] for r in results if r["job_id"] == job_id] == ["completed"]
