"""Where each element sits on its timeline, and how long the output is.

Resolves `time`/`duration`/`trim_*`/`duration_mode`/`speed` against the probed media so the
compiler only deals in concrete seconds. Elements inside a composition get a timeline of their
own, as long as the composition's clip.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from media.probe import MediaInfo
from schemas.elements import PlayableElement, VisualElement
from schemas.errors import ErrorCode, JobError
from schemas.spec import Element, ImageElement, Placed, VideoSpec


@dataclass(frozen=True)
class Clip:
    """One element resolved: interval [start, end) on its timeline and the part of its source it plays."""

    index: int  # flat index in spec.placed
    element: Element
    info: MediaInfo | None
    start: float
    end: float
    source_start: float
    media_length: float | None  # timeline seconds of source after trimming and speed; None for stills

    @property
    def length(self) -> float:
        return self.end - self.start

    @property
    def is_visual(self) -> bool:
        return isinstance(self.element, VisualElement)

    @property
    def speed(self) -> float:
        return self.element.speed if isinstance(self.element, PlayableElement) else 1.0

    @property
    def loops(self) -> bool:
        return isinstance(self.element, PlayableElement) and self.element.duration_mode == "loop"

    @property
    def freezes(self) -> bool:
        return isinstance(self.element, PlayableElement) and self.element.duration_mode == "freeze"

    @property
    def loops_segment(self) -> bool:
        """Loops a trimmed part of its source: repeated in the graph, since -stream_loop restarts
        at the file's beginning, not at trim_start."""
        element = self.element
        if not isinstance(element, PlayableElement) or self.media_length is None or not self.loops:
            return False
        return self.source_start > 0 or element.trim_end is not None

    @property
    def decoded_length(self) -> float:
        """Source seconds read from the input: the trimmed segment once when the graph repeats it."""
        if self.loops_segment:
            assert self.media_length is not None
            return min(self.media_length, self.length) * self.speed
        return self.played_length * self.speed

    @property
    def played_length(self) -> float:
        """Timeline seconds of source actually played: the media runs out unless it loops."""
        if self.media_length is None or self.loops:
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
    """The output's timeline: its top-level elements, and its length."""
    drafts, intrinsic_ends = _drafts(spec, spec.children(None), infos)
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
    return _cut(drafts, duration)


def intrinsic_length(spec: VideoSpec, parent: int, infos: Mapping[int, MediaInfo]) -> float | None:
    """How long a composition lasts by its own elements (None when none of them sets a length)."""
    _, ends = _drafts(spec, spec.children(parent), infos)
    return max(ends) if ends else None


def resolve_children(spec: VideoSpec, parent: Clip, infos: Mapping[int, MediaInfo]) -> Timeline:
    """A composition's own timeline: its elements, cut to the composition's clip length."""
    drafts, _ = _drafts(spec, spec.children(parent.index), infos)
    return _cut(drafts, parent.length)


def _cut(drafts: list[Clip], duration: float) -> Timeline:
    clips = [replace(clip, end=min(clip.end, duration)) for clip in drafts if clip.start < duration]
    clips.sort(key=lambda clip: (clip.element.track, clip.start, clip.index))
    return Timeline(duration=duration, clips=clips)


def _drafts(
    spec: VideoSpec, placed: Sequence[Placed], infos: Mapping[int, MediaInfo]
) -> tuple[list[Clip], list[float]]:
    """Clips whose open ends are infinite until the timeline's length is known, and the ends
    that elements set by themselves."""
    drafts: list[Clip] = []
    intrinsic_ends: list[float] = []
    for item in placed:
        index, element = item.index, item.element
        info = infos.get(index) if isinstance(element, (PlayableElement, ImageElement)) else None
        source_start = (element.trim_start or 0.0) if isinstance(element, PlayableElement) else 0.0
        media_length = _media_length(spec, index, element, info, source_start)
        end: float | None = None
        if isinstance(element.duration, float):
            end = element.time + element.duration
        elif element.duration == "media":
            if media_length is None:
                raise invalid(spec, index, "duration 'media' needs a video or audio source; give seconds")
            end = element.time + media_length
        elif media_length is not None and not (
            isinstance(element, PlayableElement) and element.duration_mode != "auto"
        ):
            end = element.time + media_length  # omitted duration: the media's own length at most
        elif element.type == "composition":
            own = intrinsic_length(spec, index, infos)
            end = None if own is None else element.time + own
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
    return drafts, intrinsic_ends


def _media_length(
    spec: VideoSpec, index: int, element: Element, info: MediaInfo | None, source_start: float
) -> float | None:
    """Playable timeline seconds of the source after trimming and speed; None for stills, text and color."""
    if not isinstance(element, (PlayableElement, ImageElement)):
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
    if not isinstance(element, PlayableElement):
        return info.duration  # an animated image plays once, whole
    stop = min(element.trim_end, info.duration) if element.trim_end is not None else info.duration
    if stop - source_start <= 0:
        raise invalid(
            spec, index, f"trim_start {source_start:g} s is past the end of the media ({info.duration:.2f} s)"
        )
    return (stop - source_start) / element.speed
