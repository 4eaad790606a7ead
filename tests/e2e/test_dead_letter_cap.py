"""A bad deploy through the real broker: a stage whose messages are mostly undecodable stops
consuming at the dead-letter cap, says why on the worker's /health, and leaves the rest on the topic."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import httpx
import pytest

from deploy.embedded import Child, Stack, start_infrastructure, start_worker
from schemas.settings import Settings
from streams import topics
from tests.e2e.conftest import free_port
from tests.e2e.kafka_io import produce, read_topic

pytestmark = pytest.mark.e2e

CAP = 5
SENT = 12


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Child]]:
    overrides = {
        "EMBEDDED_BROKER_PORT": str(free_port()),
        "EMBEDDED_S3_PORT": str(free_port()),
        "ANALYTICS_PORT": str(free_port()),
        "DATA_DIR": str(tmp_path_factory.mktemp("dlq-cap")),
        "KAFKA_TOPIC_PARTITIONS": "1",
        "DLQ_CAP_MIN_MESSAGES": str(CAP),
        "DLQ_CAP_RATIO": "0.5",
        "FFMPEG_THREADS": "1",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "S3_", "AWS_", "CLICKHOUSE"))}
    stack = Stack(
        Settings.model_validate({k.lower(): v for k, v in overrides.items()}), env={**env, **overrides}
    )
    try:
        resolved = start_infrastructure(stack)
        yield resolved, start_worker(stack, resolved, "worker", free_port())
    finally:
        stack.stop()


def test_undecodable_stage_messages_stop_the_stage_at_the_cap(worker: tuple[Settings, Child]) -> None:
    settings, child = worker
    bootstrap = settings.bootstrap_servers

    async def publish() -> None:
        for n in range(SENT):
            await produce(bootstrap, topics.RENDERED, b'{"not": "a JobRendered"}', key=f"vg_bad{n}".encode())

    asyncio.run(publish())
    health_url = child.listens.split(" ")[0] + "/health"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        health = httpx.get(health_url, timeout=5)
        if health.status_code == 503:
            break
        time.sleep(0.3)
    assert health.status_code == 503, health.text
    reason = health.json()["stopped_stages"]["upload"]
    assert "undecodable" in reason and "restart the worker" in reason
    time.sleep(2)  # the stage stays stopped: nothing more is dead-lettered
    letters = asyncio.run(read_topic(bootstrap, topics.DLQ))
    assert len(letters) == CAP
    assert {letter["topic"] for letter in letters} == {topics.RENDERED}
