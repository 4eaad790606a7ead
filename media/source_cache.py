"""A worker's cache of fetched sources, so the logo in a thousand jobs is downloaded once.

Entries are keyed by URL and carry the validators (ETag, Last-Modified) the fetcher
revalidates with a conditional GET; the bytes are stored once per SHA-256 (content
addressed), read-only, and hard-linked into job directories (copied across devices).
The index is SQLite: every change runs in one IMMEDIATE transaction, which serializes
concurrent jobs and worker processes. Eviction (least recently used, by bytes) only
unlinks the cache's own name, so a job holding a hard link keeps its file; a lookup that
loses the race to eviction reports a miss.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from schemas.settings import Settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    url TEXT PRIMARY KEY, digest TEXT NOT NULL, etag TEXT, last_modified TEXT, content_type TEXT
);
CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, size INTEGER NOT NULL, used REAL NOT NULL);
CREATE INDEX IF NOT EXISTS blobs_used ON blobs (used);
"""


@dataclass(frozen=True)
class CacheEntry:
    url: str
    digest: str
    size: int
    etag: str | None
    last_modified: str | None
    content_type: str | None

    def conditional_headers(self) -> dict[str, str]:
        """Headers that make the origin answer 304 when our copy is still current."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class SourceCache:
    """Bounded (`max_bytes`) content-addressed store under `root`."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._blobs = root / "blobs"
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._db = root / "index.sqlite3"
        # Switching to WAL takes an exclusive lock without waiting for a busy one, so
        # workers starting together take turns through a file lock.
        with (root / ".init.lock").open("w") as lock, self._connect() as db:
            fcntl.flock(lock, fcntl.LOCK_EX)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self._db, timeout=30, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _blob(self, digest: str) -> Path:
        return self._blobs / digest

    def lookup(self, url: str) -> CacheEntry | None:
        """The cached entry for `url`, to be revalidated before use; None on a miss."""
        with self._connect() as db:
            row = db.execute(
                "SELECT e.digest, b.size, e.etag, e.last_modified, e.content_type FROM entries e "
                "JOIN blobs b ON b.digest = e.digest WHERE e.url = ?",
                (url,),
            ).fetchone()
        return None if row is None else CacheEntry(url, *row)

    def materialize(self, entry: CacheEntry, dest: Path) -> bool:
        """Put the entry's bytes at `dest` (hard link, else copy) and mark it recently used.
        False when the blob was evicted in the meantime: the caller downloads again."""
        blob = self._blob(entry.digest)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}")
        try:
            try:
                os.link(blob, tmp)
            except FileNotFoundError:
                return False
            except OSError:  # another device, or links not supported
                shutil.copyfile(blob, tmp)
            tmp.replace(dest)
        except FileNotFoundError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        with self._write() as db:
            db.execute("UPDATE blobs SET used = ? WHERE digest = ?", (time.time(), entry.digest))
        return True

    def put(
        self,
        url: str,
        path: Path,
        *,
        digest: str,
        etag: str | None,
        last_modified: str | None,
        content_type: str | None,
    ) -> None:
        """Remember `path` (whose SHA-256 is `digest`) as the current body of `url`.

        Without a validator the copy could never be revalidated, so it is not kept; nor
        is a file larger than the whole cache.
        """
        size = path.stat().st_size
        if not (etag or last_modified) or size > self.max_bytes:
            return
        with self._write() as db:
            blob = self._blob(digest)
            if not blob.exists():
                tmp = self._blobs / f".{digest}.{uuid.uuid4().hex}"
                try:
                    os.link(path, tmp)
                except OSError:
                    shutil.copyfile(path, tmp)
                tmp.chmod(0o444)  # the job's link shares the inode: nobody may write through it
                tmp.replace(blob)
            db.execute(
                "INSERT INTO blobs (digest, size, used) VALUES (?, ?, ?) "
                "ON CONFLICT (digest) DO UPDATE SET used = excluded.used",
                (digest, size, time.time()),
            )
            db.execute(
                "INSERT OR REPLACE INTO entries (url, digest, etag, last_modified, content_type) "
                "VALUES (?, ?, ?, ?, ?)",
                (url, digest, etag, last_modified, content_type),
            )
            self._evict(db)

    def _evict(self, db: sqlite3.Connection) -> None:
        """Drop least recently used blobs (and the URLs naming them) until within bounds."""
        (total,) = db.execute("SELECT COALESCE(SUM(size), 0) FROM blobs").fetchone()
        for digest, size in db.execute("SELECT digest, size FROM blobs ORDER BY used").fetchall():
            if total <= self.max_bytes:
                break
            db.execute("DELETE FROM entries WHERE digest = ?", (digest,))
            db.execute("DELETE FROM blobs WHERE digest = ?", (digest,))
            self._blob(digest).unlink(missing_ok=True)
            total -= size

    def total_bytes(self) -> int:
        with self._connect() as db:
            (total,) = db.execute("SELECT COALESCE(SUM(size), 0) FROM blobs").fetchone()
        return int(total)


_shared: dict[tuple[Path, int], SourceCache] = {}
_shared_lock = threading.Lock()


def shared_cache(settings: Settings) -> SourceCache | None:
    """The worker's cache for these settings (SOURCE_CACHE_MB, SOURCE_CACHE_DIR); None when disabled."""
    if settings.source_cache_mb <= 0:
        return None
    root = (settings.source_cache_dir or settings.data_dir / "cache").resolve()
    key = (root, int(settings.source_cache_mb * 1024 * 1024))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = SourceCache(*key)
        return _shared[key]
