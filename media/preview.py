"""The studio's previews: one frame, or a short low-resolution clip, rendered by the engine itself in
the API process, so what the editor shows is what the worker will render.

A frame is the spec rendered as a still over a one-frame `range` on the output's frame grid (the
frame the final video shows at that time: the last one starting at or before it). A range windows
the timeline (media.timeline.window): each source is sought to where the frame needs it, so a frame
50 s into a long video decodes from the keyframe before 50 s, not from the start. It is composed at
the output's size, every layout rule as in the final render, and scaled to the preview's size last.

A clip is the same window, `start` to `start + duration`, rendered as a `preview: true` mp4
(640 px on its longer side, at most 15 fps, the fastest encoder settings), with its sound.

Sources are gathered as a job's fetch stage gathers them (media.sources: SSRF guard, screening,
size caps, the shared source cache, voices), and the set gathered for a spec serves its previews
for REUSE_SECONDS (SourceSets): scrubbing revalidates each file once in a while, not per frame. A
cached source is the same file on disk (a hard link of the cache's copy) set after set, so what is
known of it, its probe and its content hash, is kept by its identity on disk and not read again.

Renders are cached by what they show: the key is the chunk cache's key (media.chunkkey) of the
window, plus the preview's format and size; an edit that changes nothing in the window (another
element later on, a still's time, the title) finds the frame rendered already.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

from media.builders.speech import lower_voices
from media.chunkkey import engine_version, file_digest, keys_for, sound_key
from media.chunks import Chunk
from media.fetch import wanted_sources
from media.ffmpeg_bin import ffmpeg_bin
from media.frame_layout import FrameLayout, dotted_path, frame_layout
from media.output import output_fps
from media.probe import MediaInfo, probe
from media.render import probe_sources, render_part, render_still
from media.sources import gather_sources
from media.timeline import Timeline, resolve_timeline
from schemas.elements import SpeechElement, SubtitlesElement
from schemas.errors import ErrorCode, JobError
from schemas.events import SourceFile
from schemas.settings import Settings
from schemas.spec import TimeRange, VideoSpec

FrameFormat = Literal["jpg", "png"]
MAX_FRAME_WIDTH = 1280  # a frame's default width, at most the output's
WAITING_PER_SLOT = 4  # requests queued per render slot before more are refused
KNOWN_FILES = 1024  # probes and hashes kept by file identity
REUSE_SECONDS = 10.0  # a spec's gathered sources serve its previews this long (SourceSets)
KEPT_SETS = 16  # gathered source sets kept at most


@dataclass(frozen=True)
class Preview:
    """A rendered preview: its bytes, its key (the ETag), and whether it came from the cache."""

    data: bytes
    key: str
    hit: bool


# --- what the engine renders --------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A spec ready to render previews of: its voices lowered, its sources probed and hashed, its
    timeline resolved."""

    spec: VideoSpec
    sources: dict[int, Path]
    infos: dict[int, MediaInfo]
    timeline: Timeline
    digests: dict[int, str]
    engine: str


@dataclass(frozen=True)
class _File:
    """A file by its identity on disk (device, inode, size, mtime): the same bytes under any name."""

    identity: tuple[int, int, int, int]
    path: Path = field(compare=False, hash=False)

    @classmethod
    def at(cls, path: Path) -> _File:
        stat = path.stat()
        return cls((stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns), path)


@lru_cache(maxsize=KNOWN_FILES)
def _probed(file: _File) -> MediaInfo:
    return probe(file.path)


@lru_cache(maxsize=KNOWN_FILES)
def _digested(file: _File) -> str:
    return file_digest(file.path)


def known_probe(path: Path) -> MediaInfo:
    """`probe`, remembered for a file seen before under any name."""
    return _probed(_File.at(path))


def prepare(spec: VideoSpec, sources: dict[int, Path], settings: Settings) -> Prepared:
    """What every preview of `spec` needs (blocking: probes and hashes new files)."""
    lowered = lower_voices(spec, sources)
    infos = probe_sources(lowered, sources, known_probe)
    timeline = resolve_timeline(lowered, infos, max_duration=settings.max_output_duration_sec)
    digests = {index: _digested(_File.at(path)) for index, path in sources.items()}
    return Prepared(lowered, dict(sources), infos, timeline, digests, engine_version(ffmpeg_bin(settings)))


def frame_size(spec: VideoSpec, width: int | None) -> tuple[int, int]:
    """The preview's size: `width` (default the output's, at most MAX_FRAME_WIDTH; never wider than
    the output), the height following the output's aspect; both even."""
    wanted = min(spec.out_width, MAX_FRAME_WIDTH if width is None else width)
    wide = max(2, wanted // 2 * 2)
    return wide, max(2, round(wide * spec.out_height / spec.out_width / 2) * 2)


def frame_index(time: float, fps: float, duration: float) -> int:
    """The output frame shown at `time`: the last one starting at or before it, the last frame of
    the output past its end."""
    frames = max(1, round(duration * fps))
    return min(math.floor(time * fps + 1e-6), frames - 1)


def frame_spec(prepared: Prepared, time: float, fmt: FrameFormat) -> tuple[VideoSpec, Chunk]:
    """The spec rendering the frame shown at `time` as a still over that frame's one-frame window,
    and the window. Its length is pinned to the full render's (a still's would default to one
    frame)."""
    spec, duration = prepared.spec, prepared.timeline.duration
    frame = Chunk(0, frame_index(time, spec.fps, duration) / spec.fps, 1.0 / spec.fps)
    still = spec.model_copy(
        update={
            "output_format": fmt,
            "range": TimeRange(start=frame.start, duration=frame.duration),
            "duration": duration,
            "snapshot_time": 0.0,
            "poster": None,
            "thumbnail": False,
            "preview": False,
        }
    )
    return still, frame


def clip_spec(prepared: Prepared, start: float, duration: float) -> tuple[VideoSpec, Chunk]:
    """The spec rendering [start, start + duration] as a `preview: true` mp4 with its sound, and
    its window (begun on the preview's frame grid, ended at the output's end at the latest)."""
    whole = prepared.timeline.duration
    if start >= whole:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"start {start:g} s is past the end of the video ({whole:.2f} s)",
            {"fields": [{"field": "start", "message": f"past the end of the video ({whole:.2f} s)"}]},
        )
    draft = prepared.spec.model_copy(
        update={
            "output_format": "mp4",
            "preview": True,
            "poster": None,
            "thumbnail": False,
            "duration": whole,
        }
    )
    fps = output_fps(draft)
    begin = frame_index(start, fps, whole) / fps
    window = Chunk(0, begin, min(duration, whole - begin))
    clip = draft.model_copy(update={"range": TimeRange(start=window.start, duration=window.duration)})
    return clip, window


def frame_key(prepared: Prepared, still: VideoSpec, frame: Chunk, size: tuple[int, int]) -> str:
    """The chunk key of the frame's window with the format and size it is delivered at."""
    (picture,) = keys_for(still, prepared.timeline, prepared.digests, [frame], engine=prepared.engine)
    return _sha256(f"frame:{picture}:{still.output_format}:{size[0]}x{size[1]}")


def clip_key(prepared: Prepared, clip: VideoSpec, window: Chunk) -> str:
    """The chunk key of the clip's window with the key of the sound it carries a part of."""
    (picture,) = keys_for(clip, prepared.timeline, prepared.digests, [window], engine=prepared.engine)
    sound = sound_key(clip, prepared.timeline, prepared.digests, engine=prepared.engine)
    return _sha256(f"clip:{picture}:{sound}")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- the cache and the service ------------------------------------------------------------------


T = TypeVar("T")
_Make = Callable[[Prepared, Path], Awaitable[T]]
Gather = Callable[[VideoSpec, Path, Settings], Awaitable[dict[int, SourceFile]]]


class FrameCache:
    """Rendered previews by key, in memory: the least recently used dropped past `max_bytes`. Used
    from the event loop only."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> bytes | None:
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
        return data

    def put(self, key: str, data: bytes) -> None:
        """Keep `data` unless it alone is larger than the cache."""
        if len(data) > self.max_bytes:
            return
        old = self._items.pop(key, None)
        self.size += len(data) - (len(old) if old is not None else 0)
        self._items[key] = data
        while self.size > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self.size -= len(dropped)


class PreviewService:
    """Previews rendered in this process: at most PREVIEW_CONCURRENCY at once (each request, from
    its fetch to its render), WAITING_PER_SLOT times as many waiting; past that RATE_LIMITED, so
    scrubbing cannot queue without end or starve the process."""

    def __init__(self, settings: Settings, gather: Gather = gather_sources) -> None:
        """`gather`: how the spec's sources reach a directory (tests pass local files)."""
        self.settings = settings
        self.slots = max(1, settings.preview_concurrency)
        self.cache = FrameCache(int(settings.preview_cache_mb * 1024 * 1024))
        self.sources = SourceSets(settings.job_work_root / "preview", gather, settings)
        self._running = asyncio.Semaphore(self.slots)
        self._admitted = 0

    async def frame(
        self,
        spec: VideoSpec,
        time: float,
        width: int | None,
        fmt: FrameFormat,
        *,
        known: Collection[str] = (),
    ) -> Preview:
        """The frame the final render shows at `time`, `width` pixels wide, as JPEG or PNG bytes
        (empty when the caller holds it already: its key is among `known`)."""

        async def make(prepared: Prepared, work: Path) -> Preview:
            size = frame_size(prepared.spec, width)
            still, frame = frame_spec(prepared, time, fmt)
            key = await asyncio.to_thread(frame_key, prepared, still, frame, size)
            if (found := self._found(key, known)) is not None:
                return found
            out = work / f"frame.{fmt}"
            await render_still(
                still,
                prepared.infos,
                prepared.sources,
                out,
                settings=self.settings,
                size=size,
                peers=self.slots,
            )
            return self._kept(key, await asyncio.to_thread(out.read_bytes))

        return await self._run(spec, make)

    async def clip(
        self, spec: VideoSpec, start: float, duration: float, *, known: Collection[str] = ()
    ) -> Preview:
        """A `preview: true` mp4 of [start, start + duration] with its sound (the request bounds
        `duration`: schemas.preview.MAX_CLIP_SECONDS), or no bytes when its key is `known`."""

        async def make(prepared: Prepared, work: Path) -> Preview:
            clip, window = clip_spec(prepared, start, duration)
            key = await asyncio.to_thread(clip_key, prepared, clip, window)
            if (found := self._found(key, known)) is not None:
                return found
            out = work / "clip.mp4"
            await render_part(clip, prepared.sources, out, settings=self.settings, tracks="all")
            return self._kept(key, await asyncio.to_thread(out.read_bytes))

        return await self._run(spec, make)

    async def layout(self, spec: VideoSpec, time: float) -> FrameLayout:
        """Each element's span and, at `time`, its box: the studio's timeline and canvas, from the
        engine's own timeline and placement over the spec's real sources."""
        types = {dotted_path(placed.label): placed.element.type for placed in spec.placed}

        async def make(prepared: Prepared, work: Path) -> FrameLayout:
            laid = await asyncio.to_thread(
                frame_layout,
                prepared.spec,
                prepared.infos,
                prepared.sources,
                time,
                work_dir=work,
                max_duration=self.settings.max_output_duration_sec,
            )
            # A speech element is lowered to the audio it speaks; the studio shows what was written.
            items = [replace(item, type=types.get(item.path, item.type)) for item in laid.elements]
            return replace(laid, elements=items)

        return await self._run(spec, make)

    def _found(self, key: str, known: Collection[str]) -> Preview | None:
        """The preview under `key` without rendering: empty when the caller holds it, else from the cache."""
        if key in known:
            return Preview(b"", key, hit=True)
        cached = self.cache.get(key)
        return None if cached is None else Preview(cached, key, hit=True)

    def _kept(self, key: str, data: bytes) -> Preview:
        self.cache.put(key, data)
        return Preview(data, key, hit=False)

    async def _run(self, spec: VideoSpec, make: _Make[T]) -> T:
        """`make` run in a render slot with the spec's sources and a directory of its own, removed
        after."""
        if spec.audio_only:
            raise JobError(
                ErrorCode.INVALID_INPUT,
                f"a {spec.output_format} output is sound only: there is no picture to preview",
                {"field": "output_format"},
            )
        if self._admitted >= self.slots * (1 + WAITING_PER_SLOT):
            raise JobError(
                ErrorCode.RATE_LIMITED,
                f"{self._admitted} previews are being rendered or waiting; retry in a moment",
                {"retry_after_seconds": 1},
            )
        self._admitted += 1
        try:
            async with self._running, self.sources.of(spec) as sources:
                work = Path(await asyncio.to_thread(tempfile.mkdtemp, dir=self.sources.root))
                try:
                    prepared = await asyncio.to_thread(prepare, spec, sources, self.settings)
                    return await make(prepared, work)
                finally:
                    await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)
        finally:
            self._admitted -= 1


@dataclass
class _Gathered:
    directory: Path
    sources: dict[int, Path]
    until: float  # time.monotonic() after which it is gathered again
    users: int = 0


def source_signature(spec: VideoSpec) -> str:
    """What gathering a spec's sources depends on: each file's URL, where it goes and what it is
    screened as, and every element whose voice is spoken or transcribed."""
    files = [[item.key, item.url, item.kind] for item in wanted_sources(spec)]
    voiced = [
        [placed.index, placed.element.model_dump(mode="json")]
        for placed in spec.placed
        if isinstance(placed.element, SpeechElement)
        or (isinstance(placed.element, SubtitlesElement) and placed.element.transcribe is not None)
    ]
    return _sha256(json.dumps([files, voiced], sort_keys=True))


class SourceSets:
    """Sources gathered for recent specs, by their signature, reused for REUSE_SECONDS: an editor
    scrubbing a spec has its files revalidated (a conditional GET each, screening, voices) once in
    a while rather than for every frame. A set replaced or dropped (past KEPT_SETS) is removed once
    no request uses it. Used from the event loop only."""

    def __init__(self, root: Path, gather: Gather, settings: Settings) -> None:
        self.root = root
        self._gather = gather
        self._settings = settings
        self._sets: OrderedDict[str, _Gathered] = OrderedDict()
        self._retired: list[_Gathered] = []

    @contextlib.asynccontextmanager
    async def of(self, spec: VideoSpec) -> AsyncIterator[dict[int, Path]]:
        signature = source_signature(spec)
        gathered = self._sets.get(signature)
        if gathered is None or gathered.until <= time.monotonic():
            gathered = await self._gathered(spec, signature)
        gathered.users += 1
        try:
            yield gathered.sources
        finally:
            gathered.users -= 1
            await self._sweep()

    async def _gathered(self, spec: VideoSpec, signature: str) -> _Gathered:
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        directory = Path(await asyncio.to_thread(tempfile.mkdtemp, dir=self.root))
        try:
            fetched = await self._gather(spec, directory / "sources", self._settings)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, directory, ignore_errors=True)
            raise
        sources = {index: Path(source.path) for index, source in fetched.items()}
        gathered = _Gathered(directory, sources, time.monotonic() + REUSE_SECONDS)
        if (replaced := self._sets.pop(signature, None)) is not None:
            self._retired.append(replaced)
        self._sets[signature] = gathered
        while len(self._sets) > KEPT_SETS:
            self._retired.append(self._sets.popitem(last=False)[1])
        return gathered

    async def _sweep(self) -> None:
        done = [gathered for gathered in self._retired if gathered.users == 0]
        self._retired = [gathered for gathered in self._retired if gathered.users > 0]
        for gathered in done:
            await asyncio.to_thread(shutil.rmtree, gathered.directory, ignore_errors=True)
