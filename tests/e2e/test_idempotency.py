"""`Idempotency-Key` end to end: one POST sent to two API instances (the retry of a request whose
answer was lost) makes one job and one render, and another body under the key is a 409."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.api_instance import extra_api
from tests.e2e.conftest import MediaServer, RunningStack
from tests.e2e.kafka_io import read_topic
from tests.e2e.test_pipeline import wait_for_terminal

pytestmark = pytest.mark.e2e


def _spec(media: MediaServer, salt: int) -> dict[str, Any]:
    """A small job no earlier test rendered (its image's place is `salt`)."""
    return {
        "output_format": "mp4",
        "width": 320,
        "height": 240,
        "duration": 1,
        "elements": [
            {"type": "color", "color": "#204080"},
            {
                "type": "image",
                "source": media.url("red.png"),
                "x": 7 + salt,
                "y": 9,
                "width": 40,
                "height": 40,
            },
        ],
    }


def _post(client: httpx.Client, body: bytes, key: str, request_id: str) -> httpx.Response:
    headers = {"Idempotency-Key": key, "X-Request-ID": request_id, "Content-Type": "application/json"}
    return client.post("/api/v1/videocreate", content=body, headers=headers)


def test_one_key_on_two_api_instances_makes_one_job(
    stack: RunningStack, media_server: MediaServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    key = f"e2e-{uuid.uuid4()}"
    spec = _spec(media_server, uuid.uuid4().int % 200)
    body = orjson.dumps(spec)
    reordered = orjson.dumps(dict(reversed(list(spec.items()))), option=orjson.OPT_INDENT_2)
    ids = {name: f"idem-{name}-{uuid.uuid4().hex[:8]}" for name in ("first", "retry", "again", "other")}
    with (
        extra_api(
            stack, tmp_path_factory.mktemp("idempotent-api"), QUICK_RESPONSE_THRESHOLD_SECONDS="0"
        ) as url,
        httpx.Client(base_url=url, timeout=httpx.Timeout(10.0, read=120.0)) as second,
        stack.client() as first,
    ):
        created = _post(second, body, key, ids["first"])
        assert created.status_code == 202, created.text
        assert "idempotent-replayed" not in created.headers
        job_id = created.json()["job_id"]

        retried = _post(first, reordered, key, ids["retry"])  # the other instance, the same body
        assert retried.status_code in (200, 202), retried.text
        assert retried.json()["job_id"] == job_id and retried.headers["idempotent-replayed"] == "true"

        done = wait_for_terminal(first, job_id)
        assert done["status"] == "completed", done
        again = _post(second, body, key, ids["again"])
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "completed" and again.json()["job_id"] == job_id
        assert again.json()["result_url"] == done["result_url"]

        changed = _post(first, orjson.dumps({**spec, "duration": 2}), key, ids["other"])
        assert changed.status_code == 409, changed.text
        error = changed.json()["error"]
        assert error["code"] == "IDEMPOTENCY_CONFLICT" and key in error["message"]

    s3: Any = stack.s3()
    videos = s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"processed/video_{job_id}_").get("Contents", [])
    assert len(videos) == 1, videos
    record_key = (
        f"idempotency/{hashlib.sha256(b'').hexdigest()}/{hashlib.sha256(key.encode()).hexdigest()}.json"
    )
    record = orjson.loads(s3.get_object(Bucket=stack.bucket, Key=record_key)["Body"].read())
    assert record["job_id"] == job_id and len(record["body_sha256"]) == 64

    events = asyncio.run(read_topic(stack.bootstrap, "videogen.jobs.events"))
    accepted = [e for e in events if e["stage"] == "accepted" and e.get("request_id") in ids.values()]
    assert [(e["job_id"], e["request_id"]) for e in accepted] == [(job_id, ids["first"])], "one job accepted"
    renders = [
        e
        for e in events
        if e["job_id"] == job_id and e["stage"] == "render" and e.get("stage_status") == "started"
    ]
    assert len(renders) == 1, renders
    results = asyncio.run(read_topic(stack.bootstrap, "videogen.jobs.results"))
    assert [r["status"] for r in results if r["job_id"] == job_id] == ["completed"]
