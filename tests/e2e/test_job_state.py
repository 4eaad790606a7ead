"""Job state beyond the log: a finished job answers from its record in the bucket when no event of it
is left to read, and an API instance starts reading the events where the oldest unfinished job
began, not at the beginning of history."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from deploy.embedded import broker_argv, kill_group, port_open
from schemas.settings import Settings
from streams import topics
from streams.admin import ensure_topics
from tests.e2e.api_instance import extra_api
from tests.e2e.conftest import RunningStack, free_port
from tests.e2e.test_delivery import check_color_video, color_spec, unique_rgb
from tests.e2e.test_pipeline import download, wait_for_terminal

pytestmark = pytest.mark.e2e


def wait_until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not true after {timeout}s: {check.__doc__ or check}"
        time.sleep(0.3)


@contextlib.contextmanager
def empty_broker() -> Iterator[str]:
    """A broker of its own with every topic and nothing on them: a log that kept no event."""
    port = free_port()
    process = subprocess.Popen(broker_argv("127.0.0.1", port), start_new_session=True)
    try:
        wait_until(lambda: port_open("127.0.0.1", port), timeout=30)
        bootstrap = f"127.0.0.1:{port}"
        asyncio.run(ensure_topics(Settings(kafka_bootstrap_servers=bootstrap)))
        yield bootstrap
    finally:
        kill_group(process)


def _completed_job(stack: RunningStack, tmp_path: Path) -> tuple[str, tuple[int, int, int]]:
    rgb = unique_rgb()
    with stack.client() as client:
        response = client.post("/api/v1/videocreate", json=color_spec(rgb))
        assert response.status_code in (200, 202), response.text
        job_id = response.json()["job_id"]
        final = wait_for_terminal(client, job_id, timeout=90)
    assert final["status"] == "completed", final
    return job_id, rgb


def test_a_finished_job_answers_from_its_record_when_no_event_of_it_is_left(
    stack: RunningStack, tmp_path: Path
) -> None:
    job_id, rgb = _completed_job(stack, tmp_path)
    with stack.client() as client:
        before = client.get(f"/api/v1/videoresult/{job_id}").json()
    with (
        empty_broker() as bootstrap,
        extra_api(stack, tmp_path / "api", KAFKA_BOOTSTRAP_SERVERS=bootstrap) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):

        def recorded() -> bool:
            return client.get(f"/api/v1/videoresult/{job_id}").status_code == 200

        wait_until(recorded, timeout=30)  # the record is stored once the fold has passed the end
        after = client.get(f"/api/v1/videoresult/{job_id}").json()
        listing = client.get("/api/v1/videos", params={"limit": 100}).json()
        assert client.get("/api/v1/videoresult/vg_000000000000").status_code == 404
    for field in ("status", "result_url", "file_size_bytes", "duration", "processing_time_seconds"):
        assert after.get(field) == before.get(field), field
    assert job_id in [job["job_id"] for job in listing["jobs"]], "listed from the records' index"
    check_color_video(download(after["result_url"], tmp_path / "from-record.mp4"), rgb)


def test_an_api_instance_starts_reading_where_the_oldest_unfinished_job_began(
    stack: RunningStack, tmp_path: Path
) -> None:
    job_id, _ = _completed_job(stack, tmp_path)

    async def offsets() -> tuple[dict[int, int], dict[int, int]]:
        """Per events partition: where an API instance starts reading, and the end."""
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, group_id=topics.API_START_GROUP)
        await consumer.start()
        try:
            partitions = [
                TopicPartition(topics.EVENTS, p) for p in consumer.partitions_for_topic(topics.EVENTS) or ()
            ]
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            starts = {tp.partition: await consumer.committed(tp) or 0 for tp in partitions}
            return starts, {tp.partition: end for tp, end in ends.items()}
        finally:
            await consumer.stop()

    def past_the_job() -> bool:
        """The workers have moved the start offsets past every event of the finished job."""
        starts, _ = asyncio.run(offsets())
        return sum(starts.values()) > 0 and all(
            start >= job_events[p] for p, start in starts.items() if p in job_events
        )

    job_events = asyncio.run(_last_event_offsets(stack.bootstrap, job_id))
    wait_until(past_the_job, timeout=30)
    _, ends = asyncio.run(offsets())
    with extra_api(stack, tmp_path / "api") as url, httpx.Client(base_url=url, timeout=30) as client:
        answer = client.get(f"/api/v1/videoresult/{job_id}")
        assert answer.status_code == 200 and answer.json()["status"] == "completed"
        metrics = client.get("/metrics").text
    folded = [line for line in metrics.splitlines() if line.startswith("videogen_api_events_folded_total")]
    assert folded and float(folded[0].split()[-1]) < sum(ends.values()), "not every event ever written"


async def _last_event_offsets(bootstrap: str, job_id: str) -> dict[int, int]:
    """The partition of the job's events, with the offset after its last one."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topics.EVENTS, p) for p in consumer.partitions_for_topic(topics.EVENTS) or ()
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        last: dict[int, int] = {}
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for record in records:
                    if record.key == job_id.encode():
                        last[tp.partition] = record.offset + 1
        return last
    finally:
        await consumer.stop()


def _events_partitions(consumer: AIOKafkaConsumer) -> list[TopicPartition]:
    return [
        TopicPartition(topics.EVENTS, p) for p in sorted(consumer.partitions_for_topic(topics.EVENTS) or ())
    ]
