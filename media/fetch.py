"""Fetch stage: download a job's sources to local files, treating every URL as hostile.

http(s) goes through `media.netguard` on every redirect hop, s3:// through the worker's
own S3 client (limited to SOURCE_S3_BUCKETS), and a small inline `data:` image is
decoded in place. Sizes are enforced on the bytes received, never on Content-Length.
Every file is screened (`media.screening`) before it is returned, so the renderer only
ever sees local files of the type the element asked for.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import errno
import hashlib
import logging
import re
import shutil
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from media.builders.kinds import kind_of
from media.fonts import font_key
from media.netguard import Resolver, check_url, redact, system_resolver
from media.retry import async_retrying
from media.screening import screen_source
from media.source_cache import CacheEntry, SourceCache, shared_cache
from schemas.errors import ErrorCode, JobError
from schemas.events import SourceFile
from schemas.settings import Settings
from schemas.spec import VideoSpec

T = TypeVar("T")
log = logging.getLogger(__name__)
MB = 1024 * 1024
CHUNK = 64 * 1024
MAX_INLINE_BYTES = 64 * 1024
FETCH_BACKOFF_CAP_SECONDS = 30.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SAFE_SUFFIX = re.compile(
    r"^\.(mp4|m4v|mov|webm|mkv|avi|png|jpe?g|gif|webp|bmp|tiff?|mp3|wav|m4a|aac|ogg|oga|opus|flac|ttf|otf|ttc|woff2?)$"
)
_S3_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_S3_DENIED = frozenset({"AccessDenied", "403", "AllAccessDisabled"})
_S3_BAD_CREDENTIALS = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired"}
)
_S3_TRANSIENT = frozenset({"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "503", "500"})
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
_DATA_URL = re.compile(r"^data:(image/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=\s]*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Wanted:
    """One file a job needs: which element, from where, and what the element will use it as."""

    index: int
    url: str
    kind: str  # what it is screened as (media.builders.kinds.File.screen)
    key: int  # where it is kept in the job's sources: the index, or font_key(index) for a font


def wanted_sources(spec: VideoSpec) -> list[Wanted]:
    """Every file the elements' kinds ask for: their sources, a font_family that is a URL."""
    return [
        Wanted(placed.index, file.url, file.screen, font_key(placed.index) if file.font else placed.index)
        for placed in spec.placed
        for file in kind_of(placed.element).files(placed.element)
    ]


class _Retryable(Exception):
    """A failure worth another attempt: a 5xx answer, a dropped connection, a transfer corrupted
    in transit. `advice` is what the user is told to do when no attempt is left."""

    def __init__(self, reason: str, advice: str = "check the server and retry") -> None:
        super().__init__(reason)
        self.advice = advice


class _Budget:
    """Bytes a job may still download (MAX_JOB_SOURCES_MB), shared by its parallel downloads."""

    def __init__(self, limit_bytes: int) -> None:
        self._left = limit_bytes
        self._limit = limit_bytes
        self._lock = threading.Lock()  # S3 downloads run in threads

    def take(self, n: int, what: str) -> None:
        with self._lock:
            self._left -= n
            if self._left < 0:
                raise JobError(
                    ErrorCode.INVALID_INPUT,
                    f"{what}: the job's sources exceed {self._limit / MB:g} MB in total; "
                    "use fewer or smaller files.",
                    {"element": what, "limit_mb": self._limit / MB},
                )

    def give_back(self, n: int) -> None:
        with self._lock:
            self._left += n


@dataclass
class _Job:
    """What every download of one job shares."""

    settings: Settings
    dest_dir: Path
    budget: _Budget
    client: httpx.AsyncClient
    s3_client: Any | None
    resolver: Resolver
    cache: SourceCache | None
    stop: threading.Event  # tells download threads their job was cancelled


async def _in_thread(job: _Job, fn: Callable[..., T], *args: Any) -> T:
    """Run blocking work in a thread; on cancel, stop it and wait, so no thread writes
    into the job directory after fetch_sources has cleaned it up."""
    task = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        job.stop.set()
        await asyncio.wait([task])
        raise


async def fetch_sources(
    spec: VideoSpec,
    dest_dir: Path,
    settings: Settings,
    *,
    s3_client: Any | None = None,
    skip: Collection[int] = (),
    cache: SourceCache | None = None,
    resolver: Resolver = system_resolver,
) -> dict[int, SourceFile]:
    """Download and screen every source of `spec` into `dest_dir`, keyed by element index (a
    subtitles element's font, beside its cues file, by font_key(index)).

    `skip` names the keys of files the caller already has; `cache` defaults to the worker's
    shared cache (SOURCE_CACHE_MB); `resolver` is for tests. On any failure or cancellation,
    every file this call created is removed.
    """
    name = spec.element_label
    wanted = [w for w in wanted_sources(spec) if w.key not in skip]
    if not wanted:
        return {}
    dest_dir.mkdir(parents=True, exist_ok=True)
    _check_free_disk(dest_dir, settings, 0, name(wanted[0].index))
    timeout = httpx.Timeout(settings.network_timeout)
    limit = asyncio.Semaphore(max(1, settings.fetch_concurrency))
    # No keep-alive: connections are pooled per IP, and one TLS session (verified for one
    # name) must not carry a request for another name on the same address.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(
        timeout=timeout, limits=limits, follow_redirects=False, trust_env=False
    ) as client:
        job = _Job(
            settings=settings,
            dest_dir=dest_dir,
            budget=_Budget(int(settings.max_job_sources_mb * MB)),
            client=client,
            s3_client=s3_client,
            resolver=resolver,
            cache=cache if cache is not None else shared_cache(settings),
            stop=threading.Event(),
        )

        async def one(item: Wanted) -> SourceFile:
            async with limit:
                return await _fetch_one(job, item, name(item.index))

        tasks: list[asyncio.Task[SourceFile]] = []
        first: dict[str, asyncio.Task[SourceFile]] = {}
        for item in wanted:
            if item.url in first:  # the same URL twice in a job is downloaded once
                tasks.append(asyncio.create_task(_reuse(job, first[item.url], item, name(item.index))))
            else:
                tasks.append(first.setdefault(item.url, asyncio.create_task(one(item))))
        try:
            files = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for item in wanted:
                _target_path(dest_dir, item).unlink(missing_ok=True)
            raise
    return {item.key: file for item, file in zip(wanted, files, strict=True)}


async def _reuse(job: _Job, original: asyncio.Task[SourceFile], item: Wanted, what: str) -> SourceFile:
    """Another element's download of the same URL, linked in and screened for this element."""
    source = await asyncio.shield(original)  # its failure fails the job; our cancel must not cancel it
    path = _target_path(job.dest_dir, item)
    try:
        try:
            await asyncio.to_thread(_link, Path(source.path), path)
        except OSError as exc:
            raise _disk_error(exc, what) from exc
        await _in_thread(job, screen_source, path, item.kind, what, job.settings)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return source.model_copy(update={"path": str(path)})


def _link(source: Path, dest: Path) -> None:
    try:
        dest.hardlink_to(source)
    except OSError:
        shutil.copyfile(source, dest)


def _target_path(dest_dir: Path, item: Wanted) -> Path:
    """`src_<index>` plus the URL's extension when it is a known media one (FFmpeg uses it as a hint)."""
    try:
        suffix = Path(urlsplit(item.url).path).suffix.lower()
    except ValueError:
        suffix = ""
    stem = f"src_{item.index:03d}" if item.key == item.index else f"font_{item.index:03d}"
    return dest_dir / f"{stem}{suffix if _SAFE_SUFFIX.match(suffix) else ''}"


async def _fetch_one(job: _Job, item: Wanted, what: str) -> SourceFile:
    try:
        scheme = urlsplit(item.url).scheme.lower()
    except ValueError:
        scheme = ""
    path = _target_path(job.dest_dir, item)
    try:
        if scheme in ("http", "https"):
            size, content_type = await _fetch_http(job, item.url, path, what)
        elif scheme == "s3":
            bucket, key = _s3_location(job, item.url, what)
            size, content_type = await _with_retries(
                job, item.url, what, lambda: _in_thread(job, _fetch_s3, job, bucket, key, path, what)
            )
        elif scheme == "data" and item.kind == "image":
            size, content_type = _decode_data_url(job, item.url, path, what)
        else:
            raise JobError(
                ErrorCode.INVALID_INPUT,
                f"{what}: the scheme {scheme or '(none)'!r} is not accepted; give an http(s) or s3:// URL"
                + (" (or a data: image under 64 KB)" if item.kind == "image" else "")
                + ".",
                {"element": what},
            )
        await _in_thread(job, screen_source, path, item.kind, what, job.settings)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    log.info("fetched %s for %s (%d bytes)", redact(item.url), what, size)
    return SourceFile(url=redact(item.url), path=str(path), size_bytes=size, content_type=content_type)


def _check_free_disk(directory: Path, settings: Settings, incoming: int, what: str) -> None:
    free = shutil.disk_usage(directory).free
    if free - incoming < settings.min_free_disk_mb * MB:
        raise JobError(
            ErrorCode.INSUFFICIENT_STORAGE,
            f"{what}: the worker is low on disk space ({free // MB} MB free, "
            f"{settings.min_free_disk_mb:g} MB must stay free); retry later.",
            {"element": what, "free_mb": free // MB},
        )


def _timeout(what: str, url: str, why: str, advice: str = "use a faster host or retry") -> JobError:
    return JobError(
        ErrorCode.NETWORK_TIMEOUT,
        f"{what}: {redact(url)} timed out ({why}); {advice}.",
        {"element": what, "url": redact(url)},
    )


def _disk_error(exc: OSError, what: str) -> JobError:
    """A local write that failed: a full disk is the worker's storage, anything else fails the
    download (the job can be retried, perhaps on another worker)."""
    if exc.errno in _DISK_FULL:
        return JobError(
            ErrorCode.INSUFFICIENT_STORAGE,
            f"{what}: the worker ran out of disk space while saving the source; retry later.",
            {"element": what},
        )
    return JobError(
        ErrorCode.SOURCE_DOWNLOAD_FAILED,
        f"{what}: the source could not be saved on the worker ({exc.strerror or type(exc).__name__}); "
        "retry the job.",
        {"element": what},
    )


def _too_large(what: str, limit_mb: float) -> JobError:
    return JobError(
        ErrorCode.INVALID_INPUT,
        f"{what}: the source is larger than the {limit_mb:g} MB limit; use a smaller file.",
        {"element": what, "limit_mb": limit_mb},
    )


class _Sink:
    """Writes one download to a `.part` file, enforcing the per-file and per-job limits
    on every chunk, and renames it into place only when complete."""

    def __init__(self, job: _Job, path: Path, what: str) -> None:
        self.job, self.path, self.what = job, path, what
        self.part = path.with_name(path.name + ".part")
        self.limit = int(job.settings.max_file_size_mb * MB)
        self.size = 0
        self.digest = hashlib.sha256()
        try:
            self._file = self.part.open("wb")
        except OSError as exc:
            raise _disk_error(exc, what) from exc

    def write(self, chunk: bytes) -> None:
        if self.job.stop.is_set():
            raise asyncio.CancelledError()
        self.size += len(chunk)
        self.job.budget.take(len(chunk), self.what)
        if self.size > self.limit:
            raise _too_large(self.what, self.job.settings.max_file_size_mb)
        if self.size // (64 * MB) != (self.size - len(chunk)) // (64 * MB):
            _check_free_disk(self.path.parent, self.job.settings, 0, self.what)
        try:
            self._file.write(chunk)
        except OSError as exc:
            raise _disk_error(exc, self.what) from exc
        self.digest.update(chunk)

    def commit(self) -> int:
        try:
            self._file.close()
            self.part.replace(self.path)
        except OSError as exc:
            raise _disk_error(exc, self.what) from exc
        return self.size

    def discard(self) -> None:
        """Drop a failed attempt: its file and its share of the job's budget."""
        self._file.close()
        self.part.unlink(missing_ok=True)
        self.job.budget.give_back(self.size)


async def _with_retries(
    job: _Job, url: str, what: str, attempt: Callable[[], Awaitable[tuple[int, str | None]]]
) -> tuple[int, str | None]:
    """Run download attempts under the shared retry policy (media.retry): FETCH_RETRIES more
    after a `_Retryable` failure, the first after FETCH_BACKOFF_SECONDS, then doubling."""
    settings = job.settings
    attempts = max(1, settings.fetch_retries + 1)
    retrier = async_retrying(
        attempts=attempts,
        first_delay=settings.fetch_backoff_seconds,
        cap=FETCH_BACKOFF_CAP_SECONDS,
        retry_on=lambda exc: isinstance(exc, _Retryable),
        what=f"{what}: download of {redact(url)}",
    )

    async def once() -> tuple[int, str | None]:  # tenacity runs a plain callable (a lambda) unawaited
        return await attempt()

    try:
        return await retrier(once)
    except _Retryable as exc:
        raise JobError(
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            f"{what}: {redact(url)} failed {attempts} times ({exc}); {exc.advice}.",
            {"element": what, "url": redact(url)},
        ) from None


async def _fetch_http(job: _Job, url: str, path: Path, what: str) -> tuple[int, str | None]:
    """Download with retries on 5xx and dropped connections, each attempt within
    FETCH_TOTAL_TIMEOUT_SECONDS."""
    settings = job.settings

    async def attempt() -> tuple[int, str | None]:
        async with asyncio.timeout(settings.fetch_total_timeout_seconds):
            return await _http_attempt(job, url, path, what)

    try:
        return await _with_retries(job, url, what, attempt)
    except httpx.TimeoutException:
        raise _timeout(what, url, f"no answer within NETWORK_TIMEOUT={settings.network_timeout:g}s") from None
    except TimeoutError:
        limit = settings.fetch_total_timeout_seconds
        raise _timeout(what, url, f"took over FETCH_TOTAL_TIMEOUT_SECONDS={limit:g}s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # a broken answer: no retry will fix it
        raise JobError(
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            f"{what}: {redact(url)} gave an unusable answer ({type(exc).__name__}); check the server.",
            {"element": what, "url": redact(url)},
        ) from None


async def _http_attempt(job: _Job, url: str, path: Path, what: str) -> tuple[int, str | None]:
    """One GET, following up to MAX_REDIRECTS redirects by hand and re-checking each hop."""
    cached = await asyncio.to_thread(_cache_lookup, job, url)
    current = url
    for _ in range(job.settings.max_redirects + 1):
        target = await check_url(current, job.settings, what, resolver=job.resolver)
        headers = {"Accept-Encoding": "identity", **(cached.conditional_headers() if cached else {})}
        try:
            response = await job.client.send(target.request(job.client, "GET", headers=headers), stream=True)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
            raise _Retryable("connection dropped") from exc
        except httpx.ConnectError as exc:
            raise JobError(
                ErrorCode.SOURCE_DOWNLOAD_FAILED,
                f"{what}: could not connect to {redact(current)}; check the URL is reachable.",
                {"element": what, "url": redact(current)},
            ) from exc
        try:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                current = str(target.url.join(response.headers["location"]))
                continue
            if response.status_code == 304 and cached is not None:
                if await asyncio.to_thread(_use_cached, job, cached, path, what):
                    return cached.size, cached.content_type
                raise _Retryable("cached copy evicted during revalidation")
            if response.status_code >= 500:
                raise _Retryable(f"HTTP {response.status_code}")
            if response.status_code != 200:
                raise JobError(
                    ErrorCode.SOURCE_DOWNLOAD_FAILED,
                    f"{what}: {redact(current)} answered HTTP {response.status_code}; "
                    "check the URL is public and correct.",
                    {"element": what, "url": redact(current), "status": response.status_code},
                )
            return await _receive(job, url, response, path, what)
        finally:
            await response.aclose()
    raise JobError(
        ErrorCode.SOURCE_DOWNLOAD_FAILED,
        f"{what}: {redact(url)} redirects more than {job.settings.max_redirects} times; give the final URL.",
        {"element": what, "url": redact(url)},
    )


async def _receive(
    job: _Job, url: str, response: httpx.Response, path: Path, what: str
) -> tuple[int, str | None]:
    declared = response.headers.get("content-length", "")
    if declared.isdigit():  # may refuse early on it, never accept because of it
        if int(declared) > job.settings.max_file_size_mb * MB:
            raise _too_large(what, job.settings.max_file_size_mb)
        _check_free_disk(path.parent, job.settings, int(declared), what)
    sink = _Sink(job, path, what)
    try:
        async for chunk in response.aiter_raw(CHUNK):
            sink.write(chunk)
    except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
        sink.discard()
        raise _Retryable("connection dropped mid-download") from exc
    except BaseException:
        sink.discard()
        raise
    size = sink.commit()
    content_type = response.headers.get("content-type")
    if "no-store" not in response.headers.get("cache-control", ""):
        await asyncio.to_thread(
            _cache_put,
            job,
            url,
            path,
            sink.digest.hexdigest(),
            response.headers.get("etag"),
            response.headers.get("last-modified"),
            content_type,
        )
    return size, content_type


def _use_cached(job: _Job, entry: CacheEntry, path: Path, what: str) -> bool:
    """Put a revalidated cache entry at `path`, within the limits; False if it was evicted
    meanwhile (the caller then downloads it)."""
    assert job.cache is not None
    if entry.size > job.settings.max_file_size_mb * MB:
        raise _too_large(what, job.settings.max_file_size_mb)
    job.budget.take(entry.size, what)
    try:
        if job.cache.materialize(entry, path):
            return True
    except OSError as exc:
        job.budget.give_back(entry.size)
        raise _disk_error(exc, what) from exc
    job.budget.give_back(entry.size)
    return False


def _s3_location(job: _Job, url: str, what: str) -> tuple[str, str]:
    """The bucket and key of s3://bucket/key, refused unless the bucket is in SOURCE_S3_BUCKETS:
    the worker's credentials must not become a way to read anyone's objects."""
    bucket, _, key = url[len("s3://") :].partition("/")
    allowed = job.settings.readable_s3_buckets
    if not bucket or not key:
        raise JobError(
            ErrorCode.INVALID_INPUT, f"{what}: write S3 sources as s3://bucket/key.", {"element": what}
        )
    if bucket not in allowed:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"{what}: the bucket {bucket!r} is not open to sources; use one of: {', '.join(allowed)}.",
            {"element": what, "bucket": bucket},
        )
    if job.s3_client is None:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"{what}: s3:// sources need S3 on the worker; use http(s).",
            {"element": what},
        )
    return bucket, key


def _fetch_s3(job: _Job, bucket: str, key: str, path: Path, what: str) -> tuple[int, str | None]:
    """One attempt at s3://bucket/key through the worker's client, cached by ETag. Every boto3
    failure leaves as a JobError, or as `_Retryable` when another attempt may succeed."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return _read_s3(job, bucket, key, path, what)
    except (BotoCoreError, ClientError) as exc:
        raise _s3_failure(exc, f"s3://{bucket}/{key}", what) from exc


def _read_s3(job: _Job, bucket: str, key: str, path: Path, what: str) -> tuple[int, str | None]:
    from botocore.exceptions import ClientError

    url, client = f"s3://{bucket}/{key}", job.s3_client
    assert client is not None  # _s3_location checked it
    cached = _cache_lookup(job, url)
    try:
        conditional = {"IfNoneMatch": cached.etag} if cached and cached.etag else {}
        response: dict[str, Any] = client.get_object(Bucket=bucket, Key=key, **conditional)
    except ClientError as exc:
        if not (cached and exc.response.get("Error", {}).get("Code", "") in ("304", "NotModified")):
            raise
        if _use_cached(job, cached, path, what):  # 304: our copy is current
            return cached.size, cached.content_type
        response = client.get_object(Bucket=bucket, Key=key)
    body = response["Body"]
    sink = None
    try:
        declared = int(response.get("ContentLength") or 0)
        if declared > job.settings.max_file_size_mb * MB:
            raise _too_large(what, job.settings.max_file_size_mb)
        _check_free_disk(path.parent, job.settings, declared, what)
        sink = _Sink(job, path, what)
        for chunk in iter(lambda: body.read(CHUNK), b""):
            sink.write(chunk)
        size = sink.commit()
    except BaseException:
        if sink is not None:
            sink.discard()
        raise
    finally:
        with contextlib.suppress(Exception):
            body.close()
    content_type = response.get("ContentType")
    _cache_put(job, url, path, sink.digest.hexdigest(), response.get("ETag"), None, content_type)
    return size, content_type


def _s3_failure(exc: Exception, url: str, what: str) -> JobError | _Retryable:
    """What a boto3/botocore failure reading `url` means to the user, and what to do about it:
    a JobError, or `_Retryable` for what may pass (5xx, dropped or corrupted transfers)."""
    from botocore import exceptions as boto

    def failed(reason: str, advice: str) -> JobError:
        return JobError(
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            f"{what}: the object {url} {reason}; {advice}.",
            {"element": what, "url": url},
        )

    if isinstance(exc, boto.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _S3_MISSING:
            return failed("does not exist", "check the bucket and key (keys are case-sensitive)")
        if code == "NoSuchBucket":
            return failed("names a missing bucket", "check the bucket name")
        if code in _S3_DENIED:
            return failed(
                "could not be read: access denied",
                "grant the worker's credentials s3:GetObject on it or make the source public",
            )
        if code in _S3_BAD_CREDENTIALS:
            return failed(
                f"could not be read: S3 refused the worker's credentials ({code})",
                "the operator must renew the worker's AWS credentials; retry the job then",
            )
        if code == "InvalidObjectState":
            return failed("is archived (InvalidObjectState)", "restore it to a readable storage class first")
        if code in _S3_TRANSIENT or status >= 500:
            return _Retryable(f"S3 answered {code or status}", "S3 is struggling; retry the job later")
        return failed(f"could not be read (S3 answered {code or status})", "check the bucket and key")
    if isinstance(exc, boto.FlexibleChecksumError):
        return _Retryable(
            "the download was corrupted in transit: checksum mismatch",
            "retry the job; if it keeps failing, upload the object again (its stored checksum may be wrong)",
        )
    if isinstance(exc, boto.ReadTimeoutError | boto.ConnectTimeoutError):
        return _timeout(
            what, url, "S3 did not answer in time", "retry the job; if it persists, S3 is overloaded"
        )
    if isinstance(
        exc, boto.NoCredentialsError | boto.PartialCredentialsError | boto.CredentialRetrievalError
    ):
        return failed(
            "could not be read: the worker has no usable S3 credentials",
            "the operator must configure AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give an http(s) URL",
        )
    if isinstance(exc, boto.EndpointConnectionError | boto.ProxyConnectionError):
        return _Retryable(
            "S3 could not be reached", "retry later; if it persists, the worker's S3_ENDPOINT_URL is wrong"
        )
    if isinstance(exc, boto.ResponseStreamingError | boto.IncompleteReadError | boto.ConnectionClosedError):
        return _Retryable("the connection to S3 dropped mid-download", "retry the job")
    if isinstance(exc, boto.ConnectionError):  # SSL, proxy
        return _Retryable(f"the connection to S3 failed ({type(exc).__name__})", "retry the job later")
    return failed(f"could not be read ({type(exc).__name__})", "retry later")


def _cache_lookup(job: _Job, url: str) -> CacheEntry | None:
    """The cache is an optimisation: when it cannot be read, download as if it were empty."""
    if job.cache is None:
        return None
    try:
        return job.cache.lookup(url)
    except (OSError, sqlite3.Error) as exc:
        log.warning("source cache unreadable, downloading %s again: %s", redact(url), exc)
        return None


def _cache_put(
    job: _Job,
    url: str,
    path: Path,
    digest: str,
    etag: str | None,
    last_modified: str | None,
    content_type: str | None,
) -> None:
    """Keep a download for later jobs; a cache that cannot take it must not fail this one."""
    if job.cache is None:
        return
    try:
        job.cache.put(
            url, path, digest=digest, etag=etag, last_modified=last_modified, content_type=content_type
        )
    except (OSError, sqlite3.Error) as exc:
        log.warning("source cache could not keep %s: %s", redact(url), exc)


def _decode_data_url(job: _Job, url: str, path: Path, what: str) -> tuple[int, str | None]:
    match = _DATA_URL.match(url)
    data = b""
    with contextlib.suppress(binascii.Error, ValueError):
        data = base64.b64decode(re.sub(r"\s", "", match.group(2)), validate=True) if match else b""
    if not match or not data or len(data) > MAX_INLINE_BYTES:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"{what}: only small base64 data: images (png, jpeg, gif, webp; under 64 KB) are accepted; "
            "host larger media on http(s) or S3.",
            {"element": what},
        )
    job.budget.take(len(data), what)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise _disk_error(exc, what) from exc
    return len(data), match.group(1).lower()
