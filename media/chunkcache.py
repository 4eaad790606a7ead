"""Chunks of picture kept by their key (media.chunkkey), so a render draws only what no render drew
before: a chunk whose key is stored is copied, the others are rendered and stored.

Two stores: the bucket (`cache/chunks/<key>.mp4`, expired by the results' lifecycle rule,
storage/s3.py) for workers, and a local directory for benches and tests. Both bound their share of
space by CHUNK_CACHE_MAX_MB with the simplest correct policy: a chunk that would take the stored
total past the bound is not stored (nothing is evicted; the lifecycle rule frees space as entries
age). The total is summed when storing, so renders storing at once may pass it by a few chunks.

The cache is an optimisation: a store that cannot be read or written is logged and the render goes
on as if the chunk were absent. Tenants need no separate stores: a key holds the content hash of
every source the chunk reads and the whole spec in its window, so two renders share a chunk only
when they would draw the very same pixels there.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from schemas.settings import Settings
from storage.s3 import CHUNK_CACHE_PREFIX, s3_client

log = logging.getLogger(__name__)
_FAILURES = (ClientError, BotoCoreError, OSError)


class ChunkStore(Protocol):
    """Where cached chunks are kept."""

    def has(self, key: str) -> bool:
        """Whether a chunk is stored under `key`."""

    def fetch(self, key: str, dest: Path) -> bool:
        """The chunk under `key` copied to `dest`; False on a miss (`dest` then absent)."""

    def keep(self, key: str, path: Path) -> bool:
        """Store `path` under `key` unless that passes the bound; whether it is stored."""


def chunk_store(settings: Settings) -> ChunkStore | None:
    """The bucket's chunk cache, or None when CHUNK_CACHE_ENABLED is off."""
    if not settings.chunk_cache_enabled:
        return None
    return BucketStore(settings)


class BucketStore:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._bucket = settings.s3_bucket_name
        self._max_bytes = int(settings.chunk_cache_max_mb * 1024 * 1024)

    @property
    def _client(self) -> Any:
        return s3_client(self._settings)

    def has(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self._bucket, Key=_object(key))
            return True
        except _FAILURES:
            return False

    def fetch(self, key: str, dest: Path) -> bool:
        try:
            self._client.download_file(self._bucket, _object(key), str(dest))
            return True
        except _FAILURES as exc:
            if not _missing(exc):
                log.warning("chunk cache: could not read %s, rendering it: %s", key, _why(exc))
            dest.unlink(missing_ok=True)
            return False

    def keep(self, key: str, path: Path) -> bool:
        try:
            size = path.stat().st_size
            if self._used() + size > self._max_bytes:
                log.info("chunk cache: full (CHUNK_CACHE_MAX_MB), not keeping %s", key)
                return False
            self._client.upload_file(
                str(path), self._bucket, _object(key), ExtraArgs={"ContentType": "video/mp4"}
            )
            return True
        except _FAILURES as exc:
            log.warning("chunk cache: could not keep %s: %s", key, _why(exc))
            return False

    def _used(self) -> int:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=CHUNK_CACHE_PREFIX
        )
        return sum(int(item["Size"]) for page in pages for item in page.get("Contents", []))


class DirectoryStore:
    """A chunk cache in a local directory (benches, tests, a single machine)."""

    def __init__(self, root: Path, max_mb: float) -> None:
        self._root = root
        self._max_bytes = int(max_mb * 1024 * 1024)
        root.mkdir(parents=True, exist_ok=True)

    def has(self, key: str) -> bool:
        return (self._root / f"{key}.mp4").is_file()

    def fetch(self, key: str, dest: Path) -> bool:
        try:
            shutil.copyfile(self._root / f"{key}.mp4", dest)
            return True
        except FileNotFoundError:
            return False

    def keep(self, key: str, path: Path) -> bool:
        used = sum(entry.stat().st_size for entry in self._root.glob("*.mp4"))
        if used + path.stat().st_size > self._max_bytes:
            return False
        fd, temp = tempfile.mkstemp(dir=self._root, suffix=".part")
        os.close(fd)
        shutil.copyfile(path, temp)
        os.replace(temp, self._root / f"{key}.mp4")  # whole or absent, never half written
        return True


def _object(key: str) -> str:
    return f"{CHUNK_CACHE_PREFIX}{key}.mp4"


def _missing(exc: BaseException) -> bool:
    if not isinstance(exc, ClientError):
        return False
    return exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound")


def _why(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
