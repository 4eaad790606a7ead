"""Where each element is at one time of the output, as the renderer will draw it: what the studio's
timeline and canvas need to show blocks at their real lengths and to hit-test, move and resize
elements on the frame.

Answered by the engine's own timeline and placement (the code the render compiles from), so a
`"media"` duration is the source's real length, a text box hugs its shaped text, and a keyframed or
animated element is where it is at that instant. Boxes are the element's placed rectangle before
rotation; children of a composition are offset by their composition's box (its scale and rotation
are not applied to them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from media.context import RenderContext
from media.layers import placement_of
from media.placement import Frame
from media.probe import MediaInfo
from media.timeline import Clip, Timeline, resolve_children, resolve_timeline
from schemas.elements import CompositionElement, VisualElement
from schemas.spec import VideoSpec


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class ElementLayout:
    path: str  # dotted, as the API names fields: "elements.3", "elements.3.elements.0"
    type: str
    track: int
    start: float  # seconds on the output's timeline
    end: float
    visible: bool  # drawn at the time asked
    box: Rect | None  # output pixels; None for what has no picture
    anchor: Point | None  # output pixels of the point the element's x/y place
    rotation: float
    opacity: float


@dataclass(frozen=True)
class FrameLayout:
    duration: float
    width: int
    height: int
    fps: float
    elements: list[ElementLayout]  # drawing order: later is on top


def dotted_path(label: str) -> str:
    """`elements[3].elements[0]` (how the spec labels a placed element) as `elements.3.elements.0`."""
    return label.replace("[", ".").replace("]", "")


def frame_layout(
    spec: VideoSpec,
    infos: Mapping[int, MediaInfo],
    sources: Mapping[int, Path],
    time: float,
    *,
    work_dir: Path,
    max_duration: float,
) -> FrameLayout:
    """The layout at `time` of `spec` (speech already lowered, sources probed into `infos`)."""
    ctx = RenderContext(spec, infos, sources, threads=1, work_dir=work_dir)
    timeline = resolve_timeline(spec, infos, max_duration=max_duration)
    frame = Frame(spec.out_width, spec.out_height)
    elements: list[ElementLayout] = []
    _walk(ctx, timeline, frame, time, Point(0.0, 0.0), 0.0, elements)
    return FrameLayout(timeline.duration, spec.out_width, spec.out_height, spec.fps, elements)


def _walk(
    ctx: RenderContext,
    timeline: Timeline,
    frame: Frame,
    time: float,
    origin: Point,
    offset: float,
    out: list[ElementLayout],
) -> None:
    """Lay out one timeline's clips; `origin` and `offset` place a composition's own frame and
    timeline on the output's."""
    for clip in timeline.clips:
        start, end = offset + clip.start, offset + clip.end
        visible = start <= time < end
        item = _clip_layout(ctx, clip, frame, time - offset, origin, start, end, visible)
        out.append(item)
        element = clip.element
        if isinstance(element, CompositionElement) and item.box is not None:
            children = resolve_children(ctx.spec, clip, ctx.infos)
            inner = Frame(max(1, round(item.box.width)), max(1, round(item.box.height)))
            _walk(ctx, children, inner, time, Point(item.box.x, item.box.y), start, out)


def _clip_layout(
    ctx: RenderContext,
    clip: Clip,
    frame: Frame,
    time: float,
    origin: Point,
    start: float,
    end: float,
    visible: bool,
) -> ElementLayout:
    element = clip.element
    path = dotted_path(ctx.spec.placed[clip.index].label)
    box: Rect | None = None
    anchor: Point | None = None
    rotation, opacity = 0.0, 1.0
    if isinstance(element, VisualElement):
        placement = placement_of(ctx, clip, frame, clip.length)
        local = min(max(time - clip.start, 0.0), clip.length) + clip.skip
        width, height = placement.width.at(local), placement.height.at(local)
        left, top = origin.x + placement.left.at(local), origin.y + placement.top.at(local)
        box = Rect(left, top, width, height)
        ax, ay = placement.anchor
        anchor = Point(left + ax * width, top + ay * height)
        rotation, opacity = placement.rotation.at(local), placement.opacity.at(local)
    return ElementLayout(
        path, element.type, element.track, start, end, visible, box, anchor, rotation, opacity
    )
