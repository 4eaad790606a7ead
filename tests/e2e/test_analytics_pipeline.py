"""Real jobs through the whole stack land in the analytics store exactly once, and the analyst
queries run against it through `videogen analytics query` while the stack is up."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import orjson
import pytest

from tests.e2e.conftest import MediaServer, RunningStack
from tests.e2e.test_cancel_and_callbacks import slow_job, wait_for_step
from tests.e2e.test_pipeline import prd_example, wait_for_terminal

pytestmark = pytest.mark.e2e


def analytics_query(stack: RunningStack, sql: str, fmt: str = "json") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "analytics", "query", sql, "--format", fmt],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def rows(stack: RunningStack, sql: str) -> list[dict[str, Any]]:
    return list(orjson.loads(analytics_query(stack, sql)))


def test_jobs_and_stages_appear_once_with_their_figures(
    stack: RunningStack, media_server: MediaServer
) -> None:
    with stack.client() as client:
        good = [client.post("/api/v1/videocreate", json=prd_example(media_server)).json() for _ in range(2)]
        assert all(g["status"] == "completed" for g in good), good
        bad_spec = prd_example(media_server)
        bad_spec["elements"][1]["source"] = media_server.url("missing.png")
        bad = client.post("/api/v1/videocreate", json=bad_spec)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "SOURCE_DOWNLOAD_FAILED", bad.text
        bad_id = bad.json()["error"]["details"]["job_id"]
        cancelled_id = client.post("/api/v1/videocreate", json=slow_job(media_server, 300)).json()["job_id"]
        wait_for_step(client, cancelled_id, "rendering", timeout=90)
        assert client.delete(f"/api/v1/videoresult/{cancelled_id}").json()["status"] == "cancelled"
        assert wait_for_terminal(client, cancelled_id)["status"] == "cancelled"
    ids = [g["job_id"] for g in good] + [bad_id, cancelled_id]
    id_list = ", ".join(f"'{i}'" for i in ids)

    deadline = time.monotonic() + 60
    finished: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        finished = rows(
            stack,
            f"SELECT job_id, status, error_code, output_bytes, width, height, "
            f"elements_video, elements_image FROM finished_jobs WHERE job_id IN ({id_list})",
        )
        if len(finished) == 4:
            break
        time.sleep(1)
    by_id = {r["job_id"]: r for r in finished}
    assert len(finished) == 4 and set(by_id) == set(ids), finished
    for g in good:
        row = by_id[g["job_id"]]
        assert row["status"] == "completed"
        assert int(row["output_bytes"]) == g["file_size_bytes"]
        assert (int(row["width"]), int(row["height"])) == (720, 1280)
        assert (int(row["elements_video"]), int(row["elements_image"])) == (1, 1)
    assert by_id[bad_id]["status"] == "failed" and by_id[bad_id]["error_code"] == "SOURCE_DOWNLOAD_FAILED"
    assert by_id[cancelled_id]["status"] == "cancelled"

    stage_counts = rows(
        stack,
        f"SELECT job_id, stage, status, count() AS n FROM stages "
        f"WHERE job_id IN ({id_list}) GROUP BY job_id, stage, status",
    )
    assert all(int(r["n"]) == 1 for r in stage_counts), stage_counts
    completed_stages = {r["stage"] for r in stage_counts if r["job_id"] == good[0]["job_id"]}
    assert {"validate", "fetch", "render", "upload"} <= completed_stages, completed_stages

    for query in (
        "quick_response_rate",
        "processing_time_by_stage",
        "processing_time_by_output_size",
        "error_rate_by_code",
        "storage_bytes_per_day",
        "estimate_accuracy",
    ):
        assert "row" in analytics_query(stack, query, "table")


def test_jobs_record_what_the_estimator_learns_from(stack: RunningStack, media_server: MediaServer) -> None:
    """The accepted event's workload and queue, and whether the render was a stream copy, reach
    finished_jobs, where the estimator's refit reads them."""
    copy = {
        "output_format": "mp4",
        "width": 640,
        "height": 360,
        "fps": 25,
        "elements": [{"type": "video", "source": media_server.url("blue.mp4")}],
    }
    with stack.client() as client:
        answers = [
            client.post("/api/v1/videocreate", json=body).json() for body in (prd_example(media_server), copy)
        ]
    assert [a["status"] for a in answers] == ["completed", "completed"], answers
    ids = ", ".join(f"'{a['job_id']}'" for a in answers)
    sql = (
        "SELECT job_id, pixel_seconds, layer_seconds, effects, stream_copy, stream_copied, backlog, "
        f"jobs_ahead, pixel_seconds_ahead, workers FROM finished_jobs WHERE job_id IN ({ids})"
    )
    deadline = time.monotonic() + 60
    while len(found := {r["job_id"]: r for r in rows(stack, sql)}) < 2 and time.monotonic() < deadline:
        time.sleep(1)
    composed, copied = (found[a["job_id"]] for a in answers)
    # 720x1280 is one 720p frame; the clip's length is unknown before probing (10 s), the logo shows as long.
    assert (composed["pixel_seconds"], composed["layer_seconds"]) == (10.0, 20.0)
    assert (composed["stream_copy"], composed["stream_copied"]) == (0, 0)
    assert (copied["pixel_seconds"], copied["layer_seconds"]) == (0.0, 0.0)
    assert (copied["stream_copy"], copied["stream_copied"]) == (1, 1)
    for row in (composed, copied):
        assert row["effects"] == 0 and row["workers"] == 1
        assert (
            int(row["backlog"]) >= 0
            and float(row["jobs_ahead"]) >= 0
            and float(row["pixel_seconds_ahead"]) >= 0
        )
