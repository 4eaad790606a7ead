"""Delivery through the real broker: upstream producers' codecs (librdkafka), records no stage can
use dead-lettered while the next job completes, a stage message no consumer will read re-driven,
and no second end announced by a worker that takes over finished jobs."""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from confluent_kafka import Producer

from deploy.embedded import Stack, start_infrastructure, start_worker
from schemas.events import JobAccepted, JobContext, JobFetched, StageFinished, StageStarted
from schemas.settings import Settings
from schemas.spec import VideoSpec
from streams import topics
from streams.codec import encode
from tests.e2e.api_instance import extra_worker
from tests.e2e.conftest import RunningStack, free_port
from tests.e2e.kafka_io import corrupt_batch, produce, produce_raw_batch, read_topic
from tests.e2e.test_pipeline import download, wait_for_terminal
from tests.media import near, pixel, probe_output

pytestmark = pytest.mark.e2e


def color_spec(rgb: tuple[int, int, int]) -> dict[str, Any]:
    """A one-second colour card: unique per test, so no earlier job's result is reused."""
    return {
        "output_format": "mp4",
        "width": 160,
        "height": 96,
        "duration": 1,
        "elements": [{"type": "color", "color": "#{:02x}{:02x}{:02x}".format(*rgb)}],
    }


def unique_rgb() -> tuple[int, int, int]:
    n = uuid.uuid4().int
    return (n % 200 + 40, (n >> 8) % 200 + 40, (n >> 16) % 200 + 40)


def check_color_video(path: Path, rgb: tuple[int, int, int]) -> None:
    probed = probe_output(path)
    assert (probed.width, probed.height, probed.video_codec) == (160, 96, "h264")
    assert probed.duration == pytest.approx(1.0, abs=0.1)
    assert near(pixel(path, 0.5, 80, 48), rgb)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_upstream_producers_may_compress_with_any_codec(
    stack: RunningStack, codec: str, tmp_path: Path
) -> None:
    job_id = f"codec_{codec}_{uuid.uuid4().hex[:8]}"
    rgb = unique_rgb()
    producer = Producer({"bootstrap.servers": stack.bootstrap, "compression.type": codec, "linger.ms": 0})
    request = {"job_id": job_id, "tenant": "upstream", "spec": color_spec(rgb)}
    producer.produce(topics.REQUESTED, key=job_id.encode(), value=orjson.dumps(request))
    assert producer.flush(15) == 0
    with stack.client() as client:
        final = wait_for_terminal(client, job_id, timeout=90)
    assert final["status"] == "completed", final
    check_color_video(download(final["result_url"], tmp_path / f"{codec}.mp4"), rgb)


async def _produce_big(bootstrap: str, value: bytes) -> tuple[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=len(value) + 10_000)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topics.REQUESTED, value, key=b"upstream-big")
        return meta.partition, meta.offset
    finally:
        await producer.stop()


def test_records_no_stage_can_use_are_dead_lettered_and_the_next_job_completes(
    stack: RunningStack, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex
    batch = corrupt_batch(b"upstream-corrupt", orjson.dumps({"marker": marker}))
    asyncio.run(produce_raw_batch(stack.bootstrap, topics.REQUESTED, 0, batch))
    asyncio.run(produce(stack.bootstrap, topics.REQUESTED, f"not json {marker}".encode()))
    big = b'{"padding": "' + b"x" * 5_000_000 + b'"}'
    big_at = asyncio.run(_produce_big(stack.bootstrap, big))
    too_big_job = f"too_big_{marker[:8]}"
    long_text = [{"type": "text", "text": "\U0001f600" * 5_000} for _ in range(99)]  # 2 MB of UTF-8
    card = color_spec((9, 9, 9))
    two_mb = {"job_id": too_big_job, "spec": {**card, "elements": card["elements"] + long_text}}
    asyncio.run(_produce_big(stack.bootstrap, orjson.dumps(two_mb)))
    rgb = unique_rgb()
    with stack.client() as client:
        response = client.post("/api/v1/videocreate", json=color_spec(rgb))
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "completed"
        check_color_video(download(response.json()["result_url"], tmp_path / "after.mp4"), rgb)
        refused = wait_for_terminal(client, too_big_job, timeout=60)
    assert refused["status"] == "failed" and refused["error"] == "PAYLOAD_TOO_LARGE", refused
    assert "KAFKA_MAX_MESSAGE_BYTES" in refused["message"]

    def arrived(letters: list[dict[str, Any]]) -> bool:
        return len(_ours(letters, marker, big_at)) == 3

    letters = _ours(asyncio.run(read_topic(stack.bootstrap, topics.DLQ, arrived, timeout=60)), marker, big_at)
    corrupt, not_json, too_big = letters["corrupt"], letters["not_json"], letters["big"]
    assert "undecodable record batch" in corrupt["reason"] and "CorruptRecord" in corrupt["reason"]
    stored = base64.b64decode(corrupt["value_base64"])  # the batch as the broker keeps it
    assert stored[16] == 2 and marker.encode() in stored, "a v2 record batch holding what was sent"
    assert "not JSON" in not_json["reason"] and not_json["value"] == f"not json {marker}"
    assert too_big["value_truncated"] and too_big["value_bytes"] == len(big)
    assert len(too_big["value"]) <= 2_000 and "too big to dead-letter whole" in too_big["reason"]


def _ours(letters: list[dict[str, Any]], marker: str, big_at: tuple[int, int]) -> dict[str, dict[str, Any]]:
    """This test's letters among the DLQ's: by what each carries."""
    found: dict[str, dict[str, Any]] = {}
    for letter in letters:
        raw = base64.b64decode(letter["value_base64"]) if letter.get("value_base64") else b""
        if marker.encode() in raw:
            found["corrupt"] = letter
        elif letter["value"] == f"not json {marker}":
            found["not_json"] = letter
        elif (letter["partition"], letter["offset"]) == big_at and letter["topic"] == topics.REQUESTED:
            found["big"] = letter
    return found


async def _commit_past(bootstrap: str, group: str, topic: str, partition: int, offset: int) -> None:
    """Commit the group's offset past a message, as Faust does when it commits past a message still
    in flight on a worker that then dies (only an empty group takes a commit from outside)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        await consumer.commit({tp: offset + 1})
    finally:
        await consumer.stop()


async def _publish_fetched_job(bootstrap: str, job_id: str, spec: dict[str, Any]) -> tuple[int, int]:
    """What the API and the first two stages leave for a job whose sources are fetched: its
    events and its `fetched` message (a colour card has no sources)."""
    now = time.time()
    events = [
        JobAccepted(job_id=job_id, submitted_at_ms=int(now * 1000), at=now),
        StageFinished(job_id=job_id, stage="validate", at=now),
        StageStarted(job_id=job_id, stage="fetch", at=now),
        StageFinished(job_id=job_id, stage="fetch", at=now),
    ]
    spec_model = VideoSpec.model_validate(spec)
    ctx = JobContext(job_id=job_id, submitted_at_ms=int(now * 1000), estimated_seconds=1.0, spec=spec_model)
    for event in events:
        await produce(bootstrap, topics.EVENTS, encode(event), key=job_id.encode())
    fetched = JobFetched(ctx=ctx, sources={}, worker="a-worker-that-died")
    return await produce(bootstrap, topics.FETCHED, encode(fetched), key=job_id.encode())


@pytest.fixture
def infrastructure(tmp_path: Path) -> Iterator[tuple[Stack, Settings]]:
    """Broker, S3 and analytics store of their own, with no worker yet."""
    overrides = {
        "EMBEDDED_BROKER_PORT": str(free_port()),
        "EMBEDDED_S3_PORT": str(free_port()),
        "ANALYTICS_PORT": str(free_port()),
        "DATA_DIR": str(tmp_path / "stack"),
        "KAFKA_TOPIC_PARTITIONS": "2",
        "FFMPEG_THREADS": "1",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "S3_", "AWS_", "CLICKHOUSE"))}
    stack = Stack(
        Settings.model_validate({k.lower(): v for k, v in overrides.items()}), env={**env, **overrides}
    )
    try:
        yield stack, start_infrastructure(stack)
    finally:
        stack.stop()


def test_a_stage_message_no_consumer_will_read_is_redriven(
    infrastructure: tuple[Stack, Settings], tmp_path: Path
) -> None:
    """A job's `fetched` message is on the log, but the group's offset is past it (the worker that
    fetched it died after Faust committed): no consumer will ever read it. The job's state (fetch
    finished, no render) recovers it within seconds of a worker starting. Corrupt batches on the
    internal topics before it stop nothing."""
    stack, settings = infrastructure
    bootstrap = settings.bootstrap_servers
    job_id = f"stranded_{uuid.uuid4().hex[:8]}"
    rgb = unique_rgb()
    for topic in (topics.EVENTS, topics.FETCHED):  # bytes corrupted at rest on internal topics
        for n in range(settings.kafka_topic_partitions):
            asyncio.run(produce_raw_batch(bootstrap, topic, n, corrupt_batch(b"corrupt", b'{"job_id": "x"}')))
    partition, offset = asyncio.run(_publish_fetched_job(bootstrap, job_id, color_spec(rgb)))
    asyncio.run(_commit_past(bootstrap, topics.STAGES_GROUP, topics.FETCHED, partition, offset))
    started = time.monotonic()
    worker = start_worker(stack, settings, "worker", free_port())
    results = asyncio.run(
        read_topic(bootstrap, topics.RESULTS, lambda found: any(r["job_id"] == job_id for r in found), 120)
    )
    [result] = [r for r in results if r["job_id"] == job_id]
    print(f"stranded job ended {time.monotonic() - started:.1f}s after its worker was started")
    assert result["status"] == "completed", result
    check_color_video(download(result["result"]["result_url"], tmp_path / "stranded.mp4"), rgb)
    log = (settings.data_dir / "logs" / "worker.log").read_text(errors="replace")
    assert "re-driving the render stage" in log
    assert worker.process is not None and worker.process.poll() is None, "the corrupt batches stopped it"
    assert "Crashed" not in log


def test_a_worker_given_finished_jobs_announces_nothing_for_them(stack: RunningStack) -> None:
    """A second worker joins with a stalled-job limit of about a second: every job it is given
    has long finished, and it must end none of them again."""
    with stack.client() as client:
        ids = []
        for _ in range(2):
            response = client.post("/api/v1/videocreate", json=color_spec(unique_rgb()))
            assert response.status_code == 200 and response.json()["status"] == "completed"
            ids.append(response.json()["job_id"])
    with extra_worker(stack, stack.data_dir / "late-worker", STALLED_JOB_MINUTES="0.02"):
        time.sleep(40)  # past the stalled-job check (every 30 s) with the partitions it was given
    results = asyncio.run(read_topic(stack.bootstrap, topics.RESULTS))
    ends = Counter(r["job_id"] for r in results)
    assert all(ends[job_id] == 1 for job_id in ids), ends
    twice = {job_id: n for job_id, n in ends.items() if n > 1}
    assert not twice, f"jobs with more than one terminal result: {twice}"
    events = asyncio.run(read_topic(stack.bootstrap, topics.EVENTS))
    # a job's end is its `ended` event (a callback outcome repeats the terminal status after it)
    terminal = Counter(e["job_id"] for e in events if e["type"] == "ended")
    assert not {j: n for j, n in terminal.items() if n > 1}
