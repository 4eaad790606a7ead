"""Two workers in one consumer group, a worker killed with SIGKILL mid-render, an API restarted
mid-job: nothing is lost, nothing is done twice."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from deploy.embedded import Child, Stack, start_api, start_infrastructure, start_worker
from schemas.settings import Settings
from storage.s3 import s3_client
from streams.admin import group_members
from streams.topics import APP_ID
from tests.e2e.conftest import MediaServer, free_port
from tests.e2e.kafka_io import read_topic
from tests.e2e.test_cancel_and_callbacks import slow_job, wait_for_step
from tests.e2e.test_pipeline import follow_events, wait_for_terminal

pytestmark = pytest.mark.e2e


@dataclass
class Cluster:
    stack: Stack
    settings: Settings
    workers: list[Child]
    api: Child

    @property
    def base(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=httpx.Timeout(10.0, read=120.0))


def two_workers(data_dir: Path, **settings: str) -> Iterator[Cluster]:
    """An embedded stack with two workers in one consumer group and its API; `settings` are
    environment variables on top of the shared ones."""
    overrides = {
        "PORT": str(free_port()),
        "EMBEDDED_BROKER_PORT": str(free_port()),
        "EMBEDDED_S3_PORT": str(free_port()),
        "ANALYTICS_PORT": str(free_port()),
        "DATA_DIR": str(data_dir),
        "ALLOW_PRIVATE_SOURCES": "true",
        "KAFKA_TOPIC_PARTITIONS": "4",
        "KAFKA_SESSION_TIMEOUT_SECONDS": "10",
        "MAX_CONCURRENT_JOBS": "1",
        "FFMPEG_THREADS": "1",
        # Every POST answers 202 at once: a restarted API fits its estimate on the history of the
        # earlier tests, which would otherwise move jobs to the quick path.
        "QUICK_RESPONSE_THRESHOLD_SECONDS": "0",
        **settings,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "S3_", "AWS_", "CLICKHOUSE"))}
    stack = Stack(
        Settings.model_validate({k.lower(): v for k, v in overrides.items()}), env={**env, **overrides}
    )
    try:
        resolved = start_infrastructure(stack)
        workers = [start_worker(stack, resolved, f"worker{i}", free_port()) for i in (1, 2)]
        api = start_api(stack, resolved)
        yield Cluster(stack, resolved, workers, api)
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    # Its 600 s jobs only need to be running: chunking them would keep both workers busy.
    yield from two_workers(tmp_path_factory.mktemp("cluster"), CHUNK_MIN_SECONDS="0")


def small_job(media: MediaServer, n: int) -> dict[str, Any]:
    return {
        "output_format": "mp4",
        "width": 320,
        "height": 240,
        "duration": 1,
        "elements": [
            {"type": "color", "color": "#0000ff"},
            {
                "type": "image",
                "source": media.url("red.png"),
                "x": 10 + n,
                "y": 10,
                "width": 50,
                "height": 50,
            },
        ],
    }


def render_workers(cluster: Cluster, job_ids: set[str]) -> dict[str, set[str]]:
    """Which worker emitted each job's render events, from the events topic."""
    events = asyncio.run(read_topic(cluster.settings.bootstrap_servers, "videogen.jobs.events"))
    seen: dict[str, set[str]] = {}
    for event in events:
        if event["job_id"] in job_ids and event["stage"] == "render" and event.get("worker"):
            seen.setdefault(event["job_id"], set()).add(event["worker"])
    return seen


def test_two_workers_share_twenty_jobs(cluster: Cluster, media_server: MediaServer) -> None:
    def submit(n: int) -> str:
        with cluster.client() as client:
            response = client.post("/api/v1/videocreate", json=small_job(media_server, n))
            assert response.status_code in (200, 202), response.text
            return str(response.json()["job_id"])

    with ThreadPoolExecutor(max_workers=5) as pool:
        job_ids = list(pool.map(submit, range(20)))
    with cluster.client() as client:
        finals = [wait_for_terminal(client, job_id) for job_id in job_ids]
    assert Counter(f["status"] for f in finals) == {"completed": 20}
    by_job = render_workers(cluster, set(job_ids))
    assert len(by_job) == 20
    workers = Counter(next(iter(w)) for w in by_job.values())
    assert len(workers) == 2, f"one worker rendered everything: {workers}"
    assert asyncio.run(live_workers(cluster)) == 2  # what the API divides the queue ahead of a job by


async def live_workers(cluster: Cluster) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.settings.bootstrap_servers)
    await admin.start()
    try:
        return await group_members(admin, APP_ID)
    finally:
        await admin.close()


def test_get_right_after_post_on_another_instance_never_404s(
    cluster: Cluster, media_server: MediaServer
) -> None:
    port = free_port()
    second = start_api(cluster.stack, cluster.settings, "api-second", port)
    try:
        with (
            cluster.client() as first,
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as other,
        ):
            for n in range(5):
                accepted = first.post(
                    "/api/v1/videocreate",
                    json={**small_job(media_server, n), "duration": 600},  # still running
                )
                assert accepted.status_code == 202, accepted.text
                job_id = accepted.json()["job_id"]
                seen = other.get(f"/api/v1/videoresult/{job_id}")
                assert seen.status_code == 200, seen.text
                with other.stream("GET", f"/api/v1/videoresult/{job_id}/events") as events:
                    assert events.status_code == 200
                    assert any(line.startswith("data:") for line in events.iter_lines())
                first.delete(f"/api/v1/videoresult/{job_id}")
    finally:
        assert second.process is not None
        os.killpg(second.process.pid, signal.SIGTERM)
        second.process.wait(20)


def test_api_restart_mid_job_keeps_get_and_sse(cluster: Cluster, media_server: MediaServer) -> None:
    with cluster.client() as client:
        accepted = client.post("/api/v1/videocreate", json=slow_job(media_server, 50))
        assert accepted.status_code == 202
        job_id = accepted.json()["job_id"]
        wait_for_step(client, job_id, "rendering", timeout=90)
    assert cluster.api.process is not None
    os.killpg(cluster.api.process.pid, signal.SIGTERM)
    cluster.api.process.wait(20)
    cluster.api = start_api(cluster.stack, cluster.settings, "api-restarted")
    with cluster.client() as client:
        status = client.get(f"/api/v1/videoresult/{job_id}")
        assert status.status_code == 200 and status.json()["status"] in ("processing", "completed")
        seen = follow_events(client, job_id)
    assert seen[-1]["status"] == "completed"


def test_worker_killed_mid_render_job_completes_once(cluster: Cluster, media_server: MediaServer) -> None:
    with cluster.client() as client:
        accepted = client.post("/api/v1/videocreate", json=slow_job(media_server, 50))
        job_id = accepted.json()["job_id"]
        wait_for_step(client, job_id, "rendering", timeout=90)
    renderer = next(iter(render_workers(cluster, {job_id})[job_id]))
    pid = int(renderer.rsplit("-", 1)[1])
    victim = next(w for w in cluster.workers if w.process is not None and w.process.pid == pid)
    os.kill(pid, signal.SIGKILL)
    assert victim.process is not None
    victim.process.wait(10)
    started = time.monotonic()
    with cluster.client() as client:
        final = wait_for_terminal(client, job_id, timeout=240)
    assert final["status"] == "completed", final
    print(f"recovered {time.monotonic() - started:.1f}s after SIGKILL")
    survivors = render_workers(cluster, {job_id})[job_id] - {renderer}
    assert survivors, "the job was not re-rendered by the surviving worker"
    listed = s3_client(cluster.settings).list_objects_v2(
        Bucket=cluster.settings.s3_bucket_name, Prefix=f"processed/video_{job_id}_"
    )
    assert listed["KeyCount"] == 1
    results = asyncio.run(read_topic(cluster.settings.bootstrap_servers, "videogen.jobs.results"))
    assert [r["status"] for r in results if r["job_id"] == job_id] == ["completed"]
