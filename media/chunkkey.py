"""The key of a chunk of picture (media.chunks): a sha256 of exactly what the chunk shows, so a chunk
rendered once is found again by any render that would draw the same pixels there (media.chunkcache).

What goes in: the engine (ENGINE_VERSION and the FFmpeg binary's version), the output's settings
that reach a pixel (size, fps, codec and quality, pixel format, GOP, background, colour grade,
preview), the window on the output's frame grid (begun early, as the compiler begins it, when it
starts inside a transition), and each element the window shows, in drawing order: its clip on the
window (where it starts and ends there, how much of its own time is already played and left),
every field of its model that can reach a pixel (all but those its kind declares
`picture_neutral`, media.builders.kinds; its start and length are the clip), and, instead of the
URL of each file it reads, the sha256 of the file's bytes. A composition brings its nested elements
whole. Elements that are only heard, and elements outside the window, do not count.

The sound, rendered once per job for the whole timeline, has a key of its own (`sound_key`): what
is heard and where, whatever is shown.

The spec is keyed as the renderer draws it: after a template's merge (the job's spec is merged
already) and with its voices lowered (media.builders.speech), so a transcript's cues count.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from media.builders.kinds import kind_of, picture_neutral
from media.builders.speech import lower_voices
from media.chunks import Chunk
from media.compose import transition_start
from media.fonts import font_key
from media.output import encoding, gop_frames, output_fps
from media.probe import MediaInfo, probe
from media.timeline import Clip, Timeline, invalid, resolve_timeline, window
from schemas.elements import AudibleElement
from schemas.spec import CompositionElement, VideoSpec, VisualElement

# Bump on any change to the engine that can change a rendered pixel or the coded bitstream.
ENGINE_VERSION = 2  # 2: held stills timed in the output's frames (media.context.hold)
# Spec fields that are not the output's picture: the elements are keyed one by one, the window is
# the chunk's, the stills and the sound are made apart from the chunks, and the output's length
# reaches a chunk only through its window and its elements' clips.
SPEC_NEUTRAL = frozenset(
    {"elements", "range", "thumbnail", "poster", "snapshot_time", "loudness_normalization", "duration"}
)
# A clip's place on the window and in its own time: what the element's `time` and `duration` become.
CLIP_FIELDS = ("start", "end", "skip", "tail", "source_start", "media_length", "lead")
_READ = 1024 * 1024


@dataclass(frozen=True)
class CacheKeys:
    chunks: list[str]  # each chunk's picture
    sound: str  # the whole timeline's sound


def chunk_keys(
    spec: VideoSpec, sources: Mapping[int, Path], chunks: Sequence[Chunk], *, ffmpeg: str, max_duration: float
) -> CacheKeys:
    """Each chunk's key and the sound's, its sources probed and hashed (blocking: run in a thread)."""
    spec = lower_voices(spec, sources)
    infos: dict[int, MediaInfo] = {}
    for placed in spec.placed:
        if kind_of(placed.element).has_media and placed.index in sources:
            infos[placed.index] = probe(sources[placed.index])
    timeline = resolve_timeline(spec, infos, max_duration=max_duration)
    digests = {index: file_digest(path) for index, path in sources.items()}
    engine = engine_version(ffmpeg)
    return CacheKeys(
        keys_for(spec, timeline, digests, chunks, engine=engine),
        sound_key(spec, timeline, digests, engine=engine),
    )


def keys_for(
    spec: VideoSpec, timeline: Timeline, digests: Mapping[int, str], chunks: Sequence[Chunk], *, engine: str
) -> list[str]:
    """Each chunk's key from the resolved timeline and the sources' content hashes (by source key:
    an element's index, its font's media.fonts.font_key)."""
    fps = output_fps(spec)
    output = {
        **spec.model_dump(mode="json", exclude=set(SPEC_NEUTRAL)),
        "size": [spec.out_width, spec.out_height],
        "fps": fps,
        "gop": gop_frames(spec),
        "encoding": encoding(spec).model_dump(mode="json"),
    }
    keys = []
    for chunk in chunks:
        # As the compiler windows a range: begun early when it starts inside a transition.
        begin = transition_start(timeline, chunk.start)
        shown = window(timeline, begin, chunk.duration + chunk.start - begin)
        body = {
            "engine": engine,
            "output": output,
            "window": [round(chunk.start * fps), round(chunk.duration * fps), _seconds(chunk.start - begin)],
            "clips": [_clip(spec, clip, digests) for clip in shown.clips if _drawn(clip)],
        }
        keys.append(_sha256(body))
    return keys


def sound_key(spec: VideoSpec, timeline: Timeline, digests: Mapping[int, str], *, engine: str) -> str:
    """The key of the whole timeline's sound (rendered once per job, media.chunked.render_sound):
    the audio settings and length, every clip heard (and every composition, which may hold some)
    with all its fields but `id`, and where every other visual clip lies on its track (a
    transition between visual clips crossfades the sound of those it joins)."""
    output = {
        "encoding": encoding(spec).model_dump(mode="json", include={"audio_codec", "audio_bitrate"}),
        "format": spec.output_format,
        "loudness_normalization": spec.loudness_normalization,
        "duration": _seconds(timeline.duration),
    }
    clips: list[object] = []
    for clip in timeline.clips:
        place = {name: _seconds(getattr(clip, name)) for name in CLIP_FIELDS}
        if isinstance(clip.element, AudibleElement | CompositionElement):
            clips.append(
                {"clip": place, "element": _element(spec, clip.index, digests, top=True, picture=False)}
            )
        else:
            element = clip.element
            transition = element.transition if isinstance(element, VisualElement) else None
            seen = transition.model_dump(mode="json") if transition else None
            clips.append({"clip": place, "track": element.track, "transition": seen})
    return _sha256({"engine": engine, "sound": output, "clips": clips})


def _drawn(clip: Clip) -> bool:
    return kind_of(clip.element).builder is not None


def _clip(spec: VideoSpec, clip: Clip, digests: Mapping[int, str]) -> dict[str, Any]:
    place = {name: _seconds(getattr(clip, name)) for name in CLIP_FIELDS}
    return {"clip": place, "element": _element(spec, clip.index, digests, top=True, picture=True)}


def _element(
    spec: VideoSpec, index: int, digests: Mapping[int, str], *, top: bool, picture: bool
) -> dict[str, Any]:
    """The fields of the element at flat `index` that reach a pixel (`picture`; else all but its
    name), its files by content hash."""
    element = spec.placed[index].element
    kind = kind_of(element)
    left_out = (set(picture_neutral(type(element))) if picture else {"id"}) | {"elements"}
    if top:
        left_out |= {"time", "duration"}  # the clip says where it is on the window
    body = element.model_dump(mode="json", exclude=left_out)
    for file in kind.files(element):
        where = font_key(index) if file.font else index
        digest = digests.get(where)
        if digest is None:
            raise invalid(spec, index, "its source file was not provided to the renderer")
        body["font_family" if file.font else "source"] = {"sha256": digest}
    if isinstance(element, CompositionElement):
        body["elements"] = [
            _element(spec, child.index, digests, top=False, picture=picture)
            for child in spec.children(index)
            if kind_of(child.element).builder is not None or not picture
        ]
    return body


def _seconds(value: float | None) -> float | None:
    """Seconds to the microsecond: float noise of the arithmetic is not a different picture."""
    return None if value is None else round(value, 6)


def _sha256(body: object) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, computed once per fetched file (remembered by its identity on disk)."""
    stat = path.stat()
    return _digest(str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4096)
def _digest(path: str, inode: int, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(_READ):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=8)
def engine_version(ffmpeg: str) -> str:
    """ENGINE_VERSION and the FFmpeg binary's own version line: a new FFmpeg codes chunks anew."""
    try:
        banner = subprocess.run(
            [ffmpeg, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        banner = ""
    line = banner.splitlines()[0] if banner else os.path.basename(ffmpeg)
    return f"{ENGINE_VERSION}:{line}"
