"""The spine end to end: HTTP and Kafka in, real broker, real FFmpeg, real S3 protocol out."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import BaseModel
from videogen_client import Client, NotFoundError

from agents.stages.validate import deterministic_job_id
from tests.e2e.conftest import MediaServer, RunningStack
from tests.e2e.kafka_io import produce, read_topic
from tests.media import near, pixel, probe_output

pytestmark = pytest.mark.e2e

BLUE, RED, GREEN = (0, 0, 255), (255, 0, 0), (0, 128, 0)


def prd_example(media: MediaServer) -> dict[str, Any]:
    """The PRD's example body: a background video and a profile image at 5%/5%, 25%x25%."""
    return {
        "output_format": "mp4",
        "width": 720,
        "height": 1280,
        "elements": [
            {"type": "video", "track": 1, "source": media.url("blue.mp4")},
            {
                "type": "image",
                "track": 2,
                "source": media.url("red.png"),
                "x": "5%",
                "y": "5%",
                "width": "25%",
                "height": "25%",
            },
        ],
    }


def api_client(client: httpx.Client) -> Client:
    """The typed client speaking to the same API with the same key as a test's httpx client."""
    keys = {name: client.headers[name] for name in ("authorization", "x-api-key") if name in client.headers}
    return Client(str(client.base_url), headers=keys)


def as_json(state: BaseModel) -> dict[str, Any]:
    """A typed answer as the JSON the API sent (fields it left out stay out)."""
    return state.model_dump(mode="json", by_alias=True, exclude_unset=True)


def download(url: str, dest: Path) -> Path:
    with Client() as api:
        return api.download(url, dest)


def wait_for_terminal(client: httpx.Client, job_id: str, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with api_client(client) as api:
        while time.monotonic() < deadline:
            try:
                state = api.status(job_id)
            except NotFoundError:  # a job published straight to Kafka is unknown until validate saw it
                time.sleep(0.5)
                continue
            if state.status in ("completed", "failed", "cancelled"):
                return as_json(state)
            time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not end within {timeout}s")


def follow_events(client: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    """Every server-sent event of the job, until the server ends the stream."""
    with api_client(client) as api:
        return [as_json(state) for state in api.follow(job_id, via="sse")]


def check_prd_output(path: Path) -> None:
    probed = probe_output(path)
    assert (probed.width, probed.height) == (720, 1280)
    assert probed.video_codec == "h264"
    assert probed.audio_codec == "aac"
    assert abs(probed.duration - 3.0) <= 1 / 30 + 0.03
    # The box is x 36..216, y 64..384; fit "auto" is contain for a box smaller than the output, so
    # the square image is 180x180 at y 134..314 with transparent bars above and below.
    for x, y in ((126, 224), (40, 138), (212, 310)):
        assert near(pixel(path, 1.0, x, y), RED), (x, y)
    # outside the image: the cover-fitted blue background, bars included
    for x, y in ((360, 900), (20, 20), (230, 224), (126, 100), (126, 330), (700, 1260)):
        assert near(pixel(path, 1.0, x, y), BLUE), (x, y)


def test_prd_example_over_http_returns_completed(
    stack: RunningStack, media_server: MediaServer, tmp_path: Path
) -> None:
    with stack.client() as client:
        response = client.post("/api/v1/videocreate", json=prd_example(media_server))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "completed"
        assert body["job_id"].startswith("vg_") and len(body["job_id"]) == 15
        assert body["file_size_bytes"] > 0 and body["file_size"].endswith(("KB", "MB", "B"))
        assert body["processing_time_seconds"] > 0
        key = f"processed/video_{body['job_id']}_"
        assert key in body["result_url"] and body["result_url"].endswith(".mp4")
        head = stack.s3().head_object(
            Bucket=stack.bucket, Key=body["result_url"].split(f"/{stack.bucket}/")[1]
        )
        assert head["ContentType"] == "video/mp4"
        check_prd_output(download(body["result_url"], tmp_path / "out.mp4"))

        status = client.get(f"/api/v1/videoresult/{body['job_id']}").json()
        assert status["status"] == "completed" and status["result_url"] == body["result_url"]
        assert status["duration_seconds"] == pytest.approx(3.0, abs=0.05)
    assert not any((stack.data_dir / "work").glob(f"{body['job_id']}*")), "temp files left behind"


def test_invalid_body_gets_400_naming_the_field(stack: RunningStack) -> None:
    with stack.client() as client:
        response = client.post(
            "/api/v1/videocreate",
            json={
                "width": 721,
                "height": 1280,
                "elements": [{"type": "image", "source": "http://example.com/a.png", "width": "wide"}],
            },
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    fields = {f["field"] for f in error["details"]["fields"]}
    assert any("width" in f and "elements" not in f for f in fields), fields
    assert any(f.startswith("elements.0") and "width" in f for f in fields), fields
    assert error["request_id"] and error["timestamp"]
    assert response.headers["x-request-id"] == error["request_id"]


def test_unknown_job_is_404_with_envelope(stack: RunningStack) -> None:
    with stack.client() as client:
        response = client.get("/api/v1/videoresult/vg_000000000000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_long_job_gets_202_then_sse_to_the_end(
    stack: RunningStack, media_server: MediaServer, tmp_path: Path
) -> None:
    spec = {  # estimate 3 + 50 s x 0.6 = 33 s > the 30 s quick threshold
        "output_format": "mp4",
        "width": 1280,
        "height": 720,
        "duration": 50,
        "elements": [
            {"type": "color", "color": "#00ff00"},
            {
                "type": "image",
                "source": media_server.url("red.png"),
                "track": 2,
                "x": 100,
                "y": 100,
                "width": 200,
                "height": 200,
            },
        ],
    }
    with stack.client() as client:
        response = client.post("/api/v1/videocreate", json=spec)
        assert response.status_code == 202, response.text
        accepted = response.json()
        job_id = accepted["job_id"]
        assert accepted["status"] == "processing"
        assert accepted["status_check_endpoint"] == f"/api/v1/videoresult/{job_id}"
        assert accepted["estimated_seconds"] > 30
        assert client.get(f"/api/v1/videoresult/{job_id}").status_code == 200

        seen = follow_events(client, job_id)
        assert seen[-1]["status"] == "completed"
        assert all(s["status"] != "completed" for s in seen[:-1])
        progress = [s["progress_percent"] for s in seen if "progress_percent" in s]
        assert progress == sorted(progress) and len(progress) >= 2
        final = wait_for_terminal(client, job_id)
    out = download(final["result_url"], tmp_path / "long.mp4")
    probed = probe_output(out)
    assert (probed.width, probed.height) == (1280, 720)
    assert abs(probed.duration - 50.0) <= 1 / 30 + 0.03
    assert near(pixel(out, 25.0, 200, 200), RED)
    assert near(pixel(out, 25.0, 640, 500), (0, 255, 0))


def test_job_published_straight_to_kafka(
    stack: RunningStack, media_server: MediaServer, tmp_path: Path
) -> None:
    message = orjson.dumps({"tenant": "upstream", "spec": prd_example(media_server)})
    partition, offset = asyncio.run(produce(stack.bootstrap, "videogen.jobs.requested", message))
    job_id = deterministic_job_id("videogen.jobs.requested", partition, offset)
    with stack.client() as client:
        final = wait_for_terminal(client, job_id)
    assert final["status"] == "completed", final
    check_prd_output(download(final["result_url"], tmp_path / "kafka.mp4"))


def test_malformed_kafka_messages_go_to_dlq_and_agents_survive(
    stack: RunningStack, media_server: MediaServer
) -> None:
    marker = uuid.uuid4().hex[:12]
    not_json = f"{{not json {marker}"
    bad_job = f"upstream_bad_{marker}"
    asyncio.run(produce(stack.bootstrap, "videogen.jobs.requested", not_json.encode()))
    bad = orjson.dumps({"job_id": bad_job, "spec": {"width": 3, "elements": []}})
    asyncio.run(produce(stack.bootstrap, "videogen.jobs.requested", bad, key=bad_job.encode()))

    def ours(letters: list[dict[str, Any]]) -> dict[str, str]:
        """This test's letters among the DLQ's (earlier tests leave theirs): reason by what each holds."""
        found: dict[str, str] = {}
        for letter in letters:
            if letter.get("value") == not_json:
                found["not_json"] = letter["reason"]
            elif letter.get("job_id") == bad_job:
                found["bad"] = letter["reason"]
        return found

    with stack.client() as client:
        failed = wait_for_terminal(client, bad_job)
        assert failed["status"] == "failed" and failed["error"] == "INVALID_INPUT"
        assert "spec" in failed["message"]
        letters = asyncio.run(read_topic(stack.bootstrap, "videogen.jobs.dlq", lambda m: len(ours(m)) == 2))
        reasons = ours(letters)
        assert "not JSON" in reasons["not_json"], reasons
        assert "spec" in reasons["bad"], reasons
        # the pipeline still works after bad input
        ok = client.post("/api/v1/videocreate", json=prd_example(media_server))
        assert ok.status_code == 200 and ok.json()["status"] == "completed"


def test_the_bundled_example_renders_from_the_embedded_samples(stack: RunningStack, tmp_path: Path) -> None:
    """examples/prd.json needs no internet access: `videogen up` stored its sources in the bucket."""
    spec = orjson.loads((Path(__file__).parents[2] / "examples" / "prd.json").read_bytes())
    with stack.client() as client:
        response = client.post("/api/v1/videocreate", json=spec)
    assert response.status_code == 200, response.text
    path = download(response.json()["result_url"], tmp_path / "example.mp4")
    probed = probe_output(path)
    assert (probed.width, probed.height, probed.video_codec, probed.audio_codec) == (720, 1280, "h264", "aac")
    assert probed.duration == pytest.approx(6.0, abs=0.05)
    # the 400x400 logo contained in its 180x320 box at 5%/5%: 180x180 from y 134; orange at its centre
    assert near(pixel(path, 1.0, 126, 224), (255, 165, 0)), "the logo where the example puts it"


def test_history_lists_jobs_newest_first_by_page_and_status(
    stack: RunningStack, media_server: MediaServer
) -> None:
    with stack.client() as client:
        ids = []
        for _ in range(2):
            response = client.post("/api/v1/videocreate", json=prd_example(media_server))
            assert response.status_code == 200, response.text
            ids.append(response.json()["job_id"])
        first = client.get("/api/v1/videos", params={"limit": 1}).json()
        assert [j["job_id"] for j in first["jobs"]] == [ids[1]], "the newest first"
        assert first["total"] is None and first["next_offset"] == 1, "counted on the last page only"
        second = client.get("/api/v1/videos", params={"limit": 1, "offset": 1}).json()
        assert [j["job_id"] for j in second["jobs"]] == [ids[0]]
        job = second["jobs"][0]
        assert job["status"] == "completed" and job["submitted_at"].endswith("Z")
        assert job["status_check_endpoint"] == f"/api/v1/videoresult/{ids[0]}"
        assert job["file_size_bytes"] > 0 and job["output_format"] == "mp4"
        failed = client.get("/api/v1/videos", params={"status": "failed", "limit": 100}).json()
        assert all(j["status"] == "failed" for j in failed["jobs"])
        if failed["next_offset"] is None:
            assert failed["total"] == len(failed["jobs"]), "the last page knows the count"
        assert not {j["job_id"] for j in failed["jobs"]} & set(ids)
        wrong = client.get("/api/v1/videos", params={"status": "done", "limit": 0})
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "INVALID_INPUT"
