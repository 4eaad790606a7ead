"""SourceCache: content addressed, validator-keyed, LRU-bounded in bytes, safe under concurrent jobs."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from media.source_cache import SourceCache, shared_cache
from schemas.settings import Settings


def put_file(cache: SourceCache, tmp: Path, url: str, content: bytes, etag: str | None = '"e"') -> Path:
    path = tmp / f"job-{hashlib.md5(url.encode() + content).hexdigest()}"
    path.write_bytes(content)
    cache.put(
        url,
        path,
        digest=hashlib.sha256(content).hexdigest(),
        etag=etag,
        last_modified=None,
        content_type="image/png",
    )
    return path


def test_hit_is_linked_into_the_job_and_read_only(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "cache", 1000)
    put_file(cache, tmp_path, "https://a/logo.png", b"x" * 100)
    entry = cache.lookup("https://a/logo.png")
    assert entry is not None and entry.size == 100 and entry.etag == '"e"'
    assert entry.conditional_headers() == {"If-None-Match": '"e"'}
    dest = tmp_path / "job2.png"
    assert cache.materialize(entry, dest)
    assert dest.read_bytes() == b"x" * 100
    assert os.stat(dest).st_nlink >= 2  # hard link, no second copy
    assert dest.stat().st_mode & 0o222 == 0


def test_same_content_under_two_urls_is_stored_once(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "cache", 1000)
    put_file(cache, tmp_path, "https://a/1.png", b"y" * 300)
    put_file(cache, tmp_path, "https://b/2.png?v=2", b"y" * 300)
    assert cache.total_bytes() == 300
    assert len(list((tmp_path / "cache" / "blobs").iterdir())) == 1


def test_without_validators_or_too_big_nothing_is_kept(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "cache", 1000)
    put_file(cache, tmp_path, "https://a/no-validator", b"z" * 10, etag=None)
    put_file(cache, tmp_path, "https://a/huge", b"z" * 2000)
    assert cache.lookup("https://a/no-validator") is None and cache.lookup("https://a/huge") is None
    assert cache.total_bytes() == 0


def test_least_recently_used_is_evicted_by_bytes(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "cache", 250)
    put_file(cache, tmp_path, "u1", b"1" * 100)
    put_file(cache, tmp_path, "u2", b"2" * 100)
    used = cache.lookup("u1")
    assert used is not None and cache.materialize(used, tmp_path / "use-u1")  # u1 is now the most recent
    put_file(cache, tmp_path, "u3", b"3" * 100)
    assert cache.lookup("u2") is None
    assert cache.lookup("u1") is not None and cache.lookup("u3") is not None
    assert cache.total_bytes() == 200
    assert (tmp_path / "use-u1").read_bytes() == b"1" * 100  # a job's link outlives eviction


def test_blob_evicted_under_a_lookup_is_a_miss(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "cache", 1000)
    put_file(cache, tmp_path, "u", b"q" * 10)
    entry = cache.lookup("u")
    assert entry is not None
    (tmp_path / "cache" / "blobs" / entry.digest).unlink()
    assert not cache.materialize(entry, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_new_validators_replace_the_entry(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "cache", 1000)
    put_file(cache, tmp_path, "u", b"old", etag='"1"')
    put_file(cache, tmp_path, "u", b"new", etag='"2"')
    entry = cache.lookup("u")
    assert entry is not None and entry.etag == '"2"'
    assert cache.materialize(entry, tmp_path / "d") and (tmp_path / "d").read_bytes() == b"new"


def test_concurrent_jobs_keep_the_cache_consistent(tmp_path: Path) -> None:
    """Threads (each with its own SQLite connection, like separate jobs or workers) putting,
    looking up and materializing overlapping URLs under a tight bound."""
    root = tmp_path / "cache"
    errors: list[BaseException] = []

    def job(n: int) -> None:
        try:
            cache = SourceCache(root, 2500)
            work = tmp_path / f"w{n}"
            work.mkdir()
            for i in range(30):
                url = f"https://cdn/{(n + i) % 12}.png"
                content = url.encode() * 40
                entry = cache.lookup(url)
                dest = work / f"{i}.png"
                if entry is None or not cache.materialize(entry, dest):
                    put_file(cache, work, url, content)
                else:
                    assert dest.read_bytes() == content
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=job, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    cache = SourceCache(root, 2500)
    assert cache.total_bytes() <= 2500
    blobs = {p.name for p in (root / "blobs").iterdir()}
    for n in range(12):
        entry = cache.lookup(f"https://cdn/{n}.png")
        if entry is not None:
            assert entry.digest in blobs


def test_shared_cache_per_settings(tmp_path: Path) -> None:
    on = Settings(_env_file=None, data_dir=tmp_path, source_cache_mb=1)  # type: ignore[call-arg]
    off = Settings(_env_file=None, data_dir=tmp_path, source_cache_mb=0)  # type: ignore[call-arg]
    first = shared_cache(on)
    assert first is not None and first is shared_cache(on)
    assert first.root == (tmp_path / "cache").resolve()
    assert shared_cache(off) is None
