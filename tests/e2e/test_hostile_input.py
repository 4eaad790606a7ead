"""Hostile bodies against the real stack: a job too big for one Kafka message is a 413 that leaves
no job behind (no `queued` event without its request), and a body nested thousands of levels deep
is a 400 naming where, never a 500."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

JSON = {"Content-Type": "application/json"}
SMALL: dict[str, Any] = {
    "width": 64,
    "height": 64,
    "duration": 1,
    "elements": [{"type": "color", "color": "#203040"}],
}


def _job_ids(stack: RunningStack) -> set[str]:
    with stack.client() as client:
        page = client.get("/api/v1/videos", params={"limit": 100}).json()
    return {job["job_id"] for job in page["jobs"]}


def test_a_job_too_big_for_one_kafka_message_leaves_no_phantom_job(stack: RunningStack) -> None:
    before = _job_ids(stack)
    big = {**SMALL, "width": 1280, "height": 720, "elements": [{"type": "text", "text": "😀" * 5000}] * 52}
    with stack.client() as client:
        refused = client.post("/api/v1/videocreate", content=orjson.dumps(big), headers=JSON)
        assert refused.status_code == 413, refused.text
        assert refused.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
        done = client.post("/api/v1/videocreate", json=SMALL)  # quick: ends within the answer
        assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    assert _job_ids(stack) - before == {done.json()["job_id"]}, "only the small job was ever queued"


def test_a_body_nested_ten_thousand_deep_is_a_400(stack: RunningStack) -> None:
    deep = b'{"width": 64, "height": 64, "elements": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    with stack.client() as client:
        response = client.post("/api/v1/videocreate", content=deep, headers=JSON)
        assert client.get("/health").status_code == 200
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    assert error["details"]["fields"][0]["field"].startswith("elements.0.0")
