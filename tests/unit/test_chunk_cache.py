"""The chunk cache's stores: a stored chunk is found and copied whole, a missing one is a miss, and a
chunk that would pass CHUNK_CACHE_MAX_MB is not stored; the bucket's store against moto_server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agents.stages.chunked import reuse_pays
from media.chunkcache import BucketStore, ChunkStore, DirectoryStore, chunk_store
from media.chunks import Chunk
from schemas.settings import Settings
from storage.s3 import ensure_bucket, s3_client

MB = 1024 * 1024


def _settings(endpoint: str, **extra: Any) -> Settings:
    base: dict[str, Any] = {
        "s3_endpoint_url": endpoint,
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
        "s3_bucket_name": "chunks",
    }
    return Settings(**{**base, **extra})


Factory = Callable[[float], ChunkStore]


@pytest.fixture(params=["directory", "bucket"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Factory:
    def make(max_mb: float) -> ChunkStore:
        if request.param == "directory":
            return DirectoryStore(tmp_path / f"cache-{max_mb}", max_mb)
        endpoint = request.getfixturevalue("moto_endpoint")
        settings = _settings(
            endpoint, s3_bucket_name=f"chunks-{int(max_mb * 1000)}", chunk_cache_max_mb=max_mb
        )
        ensure_bucket(settings)
        return BucketStore(settings)

    return make


def _chunk(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    path.write_bytes(bytes(range(256)) * (size // 256))
    return path


def test_a_kept_chunk_is_found_and_copied_whole(store_factory: Factory, tmp_path: Path) -> None:
    store = store_factory(1.0)
    chunk = _chunk(tmp_path, "a.mp4", 64 * 1024)
    assert not store.has("k1") and not store.fetch("k1", tmp_path / "miss.mp4")
    assert not (tmp_path / "miss.mp4").exists()
    assert store.keep("k1", chunk)
    assert store.has("k1") and store.fetch("k1", tmp_path / "hit.mp4")
    assert (tmp_path / "hit.mp4").read_bytes() == chunk.read_bytes()


def test_a_chunk_past_the_bound_is_not_kept(store_factory: Factory, tmp_path: Path) -> None:
    store = store_factory(0.25)
    first, second = _chunk(tmp_path, "a.mp4", 200 * 1024), _chunk(tmp_path, "b.mp4", 200 * 1024)
    assert store.keep("first", first)
    assert not store.keep("second", second)
    assert store.has("first") and not store.has("second")


def test_the_bucket_store_lies_under_cache_chunks(moto_endpoint: str, tmp_path: Path) -> None:
    settings = _settings(moto_endpoint, s3_bucket_name="layout")
    ensure_bucket(settings)
    store = chunk_store(settings)
    assert store is not None and store.keep("abc", _chunk(tmp_path, "c.mp4", 1024))
    listed = s3_client(settings).list_objects_v2(Bucket="layout")["Contents"]
    assert [item["Key"] for item in listed] == ["cache/chunks/abc.mp4"]


def test_the_cache_turns_off(moto_endpoint: str) -> None:
    assert chunk_store(_settings(moto_endpoint, chunk_cache_enabled=False)) is None


def test_an_unreachable_bucket_is_a_miss_not_an_error(tmp_path: Path) -> None:
    store = BucketStore(_settings("http://127.0.0.1:9", s3_bucket_name="nowhere"))
    assert not store.has("k") and not store.fetch("k", tmp_path / "x.mp4")
    assert not store.keep("k", _chunk(tmp_path, "d.mp4", 1024))


def test_a_lone_worker_splits_when_reuse_pays() -> None:
    two, three = (plan_of(n) for n in (2, 3))
    assert not reuse_pays(two, [False, False])  # nothing to reuse, too short to seed
    assert reuse_pays(two, [False, True])  # a chunk is cached
    assert reuse_pays(three, [False] * 3)  # seeds the cache
    assert not reuse_pays(plan_of(1), [True])  # one chunk: the one-pass render is as fast


def plan_of(count: int) -> list[Chunk]:
    return [Chunk(n, n * 6.0, 6.0) for n in range(count)]
