"""A chunked render publishes again the chunks no worker works on (their worker died, or their
messages were committed past or dropped), and leaves alone those a live worker renders."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agents.stages import chunked
from schemas.chunks import ChunkTask
from streams import topics
from tests.unit.stage_fakes import color_ctx, make_runtime


def _tasks(n: int) -> list[ChunkTask]:
    return [
        ChunkTask(
            ctx=color_ctx(),
            attempt_id="a",
            index=i,
            count=n,
            start=float(i),
            duration=1.0,
            key=f"k{i}.mp4",
            stop_key="stop",
            failed_key=f"k{i}.failed",
            alive_key=f"k{i}.alive",
        )
        for i in range(n)
    ]


class FakeBucket:
    """Chunks stored and alive markers, as chunk workers would leave them."""

    def __init__(self) -> None:
        self.objects: dict[str, str] = {}

    def stored_size(self, settings: object, key: str) -> int | None:
        return len(self.objects[key]) if key in self.objects else None

    def read_marker(self, settings: object, key: str) -> str | None:
        return self.objects.get(key)


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> FakeBucket:
    fake = FakeBucket()
    monkeypatch.setattr(chunked, "stored_size", fake.stored_size)
    monkeypatch.setattr(chunked, "read_marker", fake.read_marker)
    monkeypatch.setattr(chunked, "CHUNK_IDLE_SECONDS", 0.3)
    monkeypatch.setattr(chunked, "POLL_SECONDS", 0.05)
    return fake


async def test_chunks_nobody_works_on_are_published_again(tmp_path: Path, bucket: FakeBucket) -> None:
    runtime, kafka = make_runtime(tmp_path, max_stage_redrives=2)
    tasks = _tasks(2)
    bucket.objects["k0.mp4"] = "rendered"

    original = kafka.send

    async def send(topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        await original(topic, key, value, headers)
        if topic == topics.CHUNKS:  # the copy is rendered by whichever worker gets it
            bucket.objects["k1.mp4"] = "rendered"

    runtime.bus._send = send
    await chunked._wait(color_ctx(), tasks, runtime)
    assert [(s.topic, s.key) for s in kafka.sent if s.topic == topics.CHUNKS] == [(topics.CHUNKS, "vg_1:1")]


async def test_a_chunk_a_live_worker_renders_is_not_published_again(
    tmp_path: Path, bucket: FakeBucket
) -> None:
    runtime, kafka = make_runtime(tmp_path)
    tasks = _tasks(1)
    bucket.objects["k0.alive"] = f"{time.time():.3f}"

    async def finish_later() -> None:
        await asyncio.sleep(0.8)
        bucket.objects["k0.mp4"] = "rendered"

    finishing = asyncio.create_task(finish_later())
    await chunked._wait(color_ctx(), tasks, runtime)
    await finishing
    assert not [s for s in kafka.sent if s.topic == topics.CHUNKS]
