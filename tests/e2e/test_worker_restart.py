"""`videogen up` outlives its worker: SIGKILL the session stack's worker, and the supervisor starts a
new one that takes the next job. The stack is shared, so the test returns only once the new worker
answers its /health."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import MediaServer, RunningStack
from tests.e2e.test_pipeline import wait_for_terminal

pytestmark = pytest.mark.e2e


def worker_pids(data_dir: Path) -> list[int]:
    lines = (data_dir / "stack.pids").read_text().splitlines()
    return [int(pid) for name, pid in (line.split() for line in lines) if name == "worker"]


def healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_killed_worker_is_restarted_and_renders_the_next_job(
    stack: RunningStack, media_server: MediaServer
) -> None:
    old = worker_pids(stack.data_dir)[-1]
    health = f"http://127.0.0.1:{stack.env['WORKER_WEB_PORT']}/health"
    assert healthy(health)
    killed_at = time.monotonic()
    os.kill(old, signal.SIGKILL)

    deadline = killed_at + 120
    while not (worker_pids(stack.data_dir)[-1] != old and healthy(health)):
        assert stack.process.poll() is None, "videogen up stopped when its worker died"
        assert time.monotonic() < deadline, (stack.data_dir / "up.log").read_text()
        time.sleep(0.2)
    back_after = time.monotonic() - killed_at
    print(f"worker back after {back_after:.1f}s")
    assert "videogen: worker exited with -9; restarting in" in (stack.data_dir / "up.log").read_text()

    spec = {  # unique, so that it is rendered now and not answered from an earlier job's result
        "output_format": "mp4",
        "width": 320,
        "height": 240,
        "duration": 1,
        "elements": [
            {"type": "color", "color": "#00ff00"},
            {"type": "image", "source": media_server.url("red.png"), "x": time.time_ns() % 200, "y": 7},
        ],
    }
    with stack.client() as client:
        response = client.post("/api/v1/videocreate", json=spec)
        assert response.status_code in (200, 202), response.text
        final = wait_for_terminal(client, response.json()["job_id"])
    assert final["status"] == "completed", final
