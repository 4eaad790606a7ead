"""Where each element sits on the output timeline, and how long the output is.

Resolves `time`/`duration`/`trim_*`/`duration_mode` against the probed media so the compiler
only deals in concrete seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from media.probe import MediaInfo
from schemas.errors import ErrorCode, JobError
from schemas.spec import Element, VideoSpec

VISUAL_TYPES = ("video", "image", "text", "color")


@dataclass(frozen=True)
class Clip:
    """One element resolved: output interval [start, end) and the part of its source it plays."""

    index: int
    element: Element
    info: MediaInfo | None
    start: float
    end: float
    source_start: float
    media_length: float | None  # seconds of source available after trimming; None for stills

    @property
    def length(self) -> float:
        return self.end - self.start

    @property
    def is_visual(self) -> bool:
        return self.element.type in VISUAL_TYPES

    @property
    def is_still(self) -> bool:
        return self.info is None or self.info.kind == "image"

    @property
    def loops_segment(self) -> bool:
        """Loops a trimmed part of its source: repeated in the graph, since -stream_loop restarts
        at the file's beginning, not at trim_start."""
        element = self.element
        trimmed = self.source_start > 0 or element.trim_end is not None
        return element.duration_mode == "loop" and self.media_length is not None and trimmed

    @property
    def decoded_length(self) -> float:
        """Seconds read from the input: the trimmed segment once when the graph repeats it."""
        if self.loops_segment:
            assert self.media_length is not None
            return min(self.media_length, self.length)
        return self.played_length

    @property
    def played_length(self) -> float:
        """Seconds of source actually decoded: the media runs out unless it loops."""
        if self.media_length is None or self.element.duration_mode == "loop":
            return self.length
        return min(self.length, self.media_length)


@dataclass(frozen=True)
class Timeline:
    duration: float
    clips: list[Clip]  # z-order: track ascending, then start time, then spec order


def invalid(spec: VideoSpec, index: int, reason: str) -> JobError:
    return JobError(
        ErrorCode.INVALID_INPUT,
        f"element {spec.element_label(index)}: {reason}",
        {"element": spec.element_label(index), "reason": reason},
    )


def resolve_timeline(spec: VideoSpec, infos: Mapping[int, MediaInfo], *, max_duration: float) -> Timeline:
    drafts: list[Clip] = []  # open-ended clips end at infinity until the output's length is known
    intrinsic_ends: list[float] = []
    for index, element in enumerate(spec.elements):
        info = infos.get(index) if element.type in ("video", "image", "audio") else None
        source_start = element.trim_start or 0.0
        media_length = _media_length(spec, index, element, info, source_start)
        end: float | None = None
        if isinstance(element.duration, float):
            end = element.time + element.duration
        elif element.duration == "media":
            if media_length is None:
                raise invalid(spec, index, "duration 'media' needs a video or audio source; give seconds")
            end = element.time + media_length
        elif media_length is not None and element.duration_mode == "auto":
            end = element.time + media_length  # omitted duration: the media's own length at most
        if end is not None:
            intrinsic_ends.append(end)
        drafts.append(
            Clip(
                index,
                element,
                info,
                element.time,
                math.inf if end is None else end,
                source_start,
                media_length,
            )
        )

    if spec.duration is not None:
        duration = spec.duration
    elif intrinsic_ends:
        duration = max(intrinsic_ends)
    elif spec.output_format in ("jpg", "png"):
        duration = spec.snapshot_time + 1.0 / spec.fps
    else:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            "nothing sets the output's length: give the output a duration, or an element a duration",
        )
    if duration > max_duration:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"the output would last {duration:.1f} s, more than the {max_duration:.0f} s allowed",
        )

    clips = [replace(clip, end=min(clip.end, duration)) for clip in drafts if clip.start < duration]
    clips.sort(key=lambda clip: (clip.element.track, clip.start, clip.index))
    return Timeline(duration=duration, clips=clips)


def _media_length(
    spec: VideoSpec, index: int, element: Element, info: MediaInfo | None, source_start: float
) -> float | None:
    """Playable seconds of the source after trimming; None for stills, text and color."""
    if element.type in ("text", "color"):
        return None
    if info is None:
        raise invalid(spec, index, "its source was not provided to the renderer")
    if element.type in ("video", "image") and not info.has_video:
        raise invalid(spec, index, f"a {element.type} element needs a picture, but the source is audio only")
    if element.type == "audio" and not info.has_audio:
        raise invalid(spec, index, "an audio element needs sound, but the source has no audio stream")
    if info.kind == "image":
        return None
    if info.duration is None:
        raise invalid(spec, index, "the media's duration cannot be determined")
    stop = min(element.trim_end, info.duration) if element.trim_end is not None else info.duration
    if stop - source_start <= 0:
        raise invalid(
            spec, index, f"trim_start {source_start:g} s is past the end of the media ({info.duration:.2f} s)"
        )
    return stop - source_start
