"""Where each element sits on its timeline, and how long the output is.

Resolves `time`/`duration`/`trim_*`/`duration_mode`/`speed` against the probed media so the
compiler only deals in concrete seconds. Elements inside a composition get a timeline of their
own, as long as the composition's clip.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

from media.builders.kinds import Unusable, kind_of
from media.probe import MediaInfo
from schemas.elements import PlayableElement, VisualElement
from schemas.errors import ErrorCode, JobError
from schemas.spec import Element, Placed, VideoSpec


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
    skip: float = 0.0  # seconds of the element's own time already played when its timeline starts
    tail: float = 0.0  # seconds of the element's own time left after its timeline ends
    lead: float = 0.0  # source seconds read before `source_start + lead`, where playing begins

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
        return bool(element.trim_start) or element.trim_end is not None

    @property
    def decoded_length(self) -> float:
        """Source seconds read from the input: the trimmed segment once when the graph repeats it."""
        if self.loops_segment:
            assert self.media_length is not None
            return min(self.media_length, self.length) * self.speed
        return self.played_length * self.speed + self.lead

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
    """A composition's own timeline: its elements, cut to the composition's clip length (and
    windowed like it when the composition is partly played already)."""
    drafts, _ = _drafts(spec, spec.children(parent.index), infos)
    whole = _cut(drafts, parent.skip + parent.length)
    return window(whole, parent.skip, parent.length) if parent.skip else whole


def window(timeline: Timeline, start: float, duration: float) -> Timeline:
    """The part [start, start + duration) of a timeline as a timeline of its own (a `range`, or one
    chunk of a chunked render). Each clip that began earlier keeps `skip`, the seconds of its own
    time already played, so its motion, fades and sources carry on exactly where they were: media
    is sought past them (a looped file to the same phase), nothing before the window is decoded."""
    end = min(timeline.duration, start + duration)
    clips = []
    for clip in timeline.clips:
        if clip.end <= start or clip.start >= end:
            continue
        skip = max(0.0, start - clip.start)
        moved = replace(
            clip,
            start=max(0.0, clip.start - start),
            end=min(clip.end, end) - start,
            skip=clip.skip + skip,
            tail=clip.tail + max(0.0, clip.end - end),
        )
        clips.append(_sought(moved, skip) if skip and clip.media_length is not None else moved)
    return Timeline(duration=end - start, clips=clips)


def _sought(clip: Clip, skip: float) -> Clip:
    """A media clip started `skip` seconds into its own time: its source read from there on."""
    assert clip.media_length is not None
    if clip.loops_segment:
        return clip  # the graph repeats the segment and drops the phase already played
    if clip.loops:
        phase = (clip.source_start + skip * clip.speed) % (clip.media_length * clip.speed)
        return _on_frame(replace(clip, source_start=phase))
    left = clip.media_length - skip
    if left <= 0:  # a frozen clip whose media ended before: hold its last frame
        last = 0.04
        held = clip.source_start + (clip.media_length - last) * clip.speed
        return _on_frame(replace(clip, source_start=held, media_length=last))
    return _on_frame(replace(clip, source_start=clip.source_start + skip * clip.speed, media_length=left))


def _on_frame(clip: Clip) -> Clip:
    """Seeks to the start of the source frame showing at `source_start`, keeping the rest as
    `lead`: FFmpeg drops a frame that began before the seek point, though it still shows there,
    and the frames must fall on the same instants as in an unwindowed render."""
    fps = clip.info.fps if clip.info is not None else None
    if not fps or clip.media_length is None:
        return clip
    frame = 1.0 / fps
    start = math.floor(clip.source_start / frame + 1e-6) * frame
    lead = clip.source_start - start
    return replace(clip, source_start=start, lead=lead, media_length=clip.media_length + lead / clip.speed)


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
        kind = kind_of(element)
        info = infos.get(index) if kind.has_media else None
        source_start = (element.trim_start or 0.0) if isinstance(element, PlayableElement) else 0.0
        try:
            media_length = kind.media_length(element, info)
        except Unusable as exc:
            raise invalid(spec, index, str(exc)) from None
        end: float | None = None
        if isinstance(element.duration, float):
            end = element.time + element.duration
        elif element.duration == "media":
            if media_length is None:
                raise invalid(spec, index, "duration 'media' needs a video or audio source; give seconds")
            end = element.time + media_length
        else:  # omitted: the element's own length, if it has one
            own = kind.open_length(element, media_length, partial(intrinsic_length, spec, index, infos))
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
