"""One visual clip as a layer: its builder's pixels timed (length, freeze, fades), made
translucent, resized, wiped and rotated over its local time, and where its corner goes.

A layer that does not move keeps whole-pixel numbers and fixed filters, exactly the graph the
renderer made before motion existed; only what moves pays for per-frame expressions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from media import builders
from media.builders import Build
from media.builders import subtitles as subtitles_builder
from media.builders import text as text_builder
from media.builders.kinds import kind_of
from media.context import RenderContext
from media.graph import Filter, Stream, chain, f, join, source
from media.layout import rotated_size
from media.looks import has_looks, source_size
from media.motion import Curve
from media.placement import Frame, Placement, largest, place
from media.timeline import Clip
from schemas.elements import Animation, SubtitlesElement, TextElement, VisualElement

MAX_BOX_SIDE = 32_768  # beyond FFmpeg's frame size limits


@dataclass(frozen=True)
class Layer:
    """A stream in local time (from 0) and where its top-left corner goes in its frame."""

    stream: Stream
    left: Curve
    top: Curve
    still: tuple[int, int] | None  # whole-pixel corner of a layer that does not move
    size: tuple[int, int]  # the stream's frame size

    def position(self, origin: float) -> tuple[object, object]:
        """overlay's x and y when the layer starts at `origin` on the main stream's clock."""
        if self.still is not None:
            return self.still
        clock = f"(t-{origin:.6f})"
        return self.left.expr(clock), self.top.expr(clock)


def clip_layer(
    ctx: RenderContext, clip: Clip, frame: Frame, *, length: float, freeze: bool, alpha: bool | None = None
) -> Layer:
    element = clip.element
    assert isinstance(element, VisualElement)
    whole = clip.skip + length + clip.tail  # the element's own length, in and out of this timeline
    placement = placement_of(ctx, clip, frame, whole)
    still = placement.rotation.is_constant and not placement.resizes and not placement.moves
    if still:
        box = placement.static_box()
        width, height = box.w, box.h
    else:
        width, height = largest(placement.width, whole), largest(placement.height, whole)
    if max(width, height) > MAX_BOX_SIDE:
        raise ctx.invalid(clip, f"its box {width}x{height} is too large")
    job = Build(clip, frame, width, height, False, length)
    if alpha is None:
        alpha = needs_alpha(job, placement)
    job = Build(clip, frame, width, height, alpha, length)
    if still and _draws_a_band(element, placement):
        stream, (x, y, width, height) = subtitles_builder.build_band(ctx, job)
        corner = (box.x + x, box.y + y)
    else:
        stream = builders.builder_for(element)(ctx, job)
        corner = (box.x, box.y) if still else (0, 0)
    stream = chain(stream, _timed(ctx, clip, placement, alpha, length=length, whole=whole, freeze=freeze))
    left, top = placement.left, placement.top
    if placement.resizes:
        ax, ay = placement.anchor
        stream = chain(stream, _resize(placement, width, height))
        left = left.plus(placement.width.times(Curve.constant(ax))).plus(Curve.constant(-width * ax))
        top = top.plus(placement.height.times(Curve.constant(ay))).plus(Curve.constant(-height * ay))
    for wipe in placement.wipes:
        stream = _wipe(ctx, clip, stream, wipe, (width, height), whole)
    rotation = placement.rotation
    if rotation.is_constant and rotation.at(0) % 360:
        rw, rh = rotated_size(width, height, rotation.at(0) % 360)
        stream = chain(stream, [f("rotate", a=f"{rotation.at(0) % 360:g}*PI/180", ow=rw, oh=rh, c="none")])
    elif not rotation.is_constant:
        rw = rh = math.ceil(math.hypot(width, height))
        stream = chain(stream, [f("rotate", a=f"({rotation.expr()})*PI/180", ow=rw, oh=rh, c="none")])
    else:
        rw, rh = width, height
    if still:
        corner = (corner[0] + (width - rw) // 2, corner[1] + (height - rh) // 2)
        return Layer(stream, left, top, corner, (rw, rh))
    shift = Curve.constant(-(rw - width) / 2), Curve.constant(-(rh - height) / 2)
    return Layer(stream, left.plus(shift[0]), top.plus(shift[1]), None, (rw, rh))


def placement_of(ctx: RenderContext, clip: Clip, frame: Frame, length: float) -> Placement:
    element = clip.element
    assert isinstance(element, VisualElement)
    media = source_size(element, clip.info)
    if media is not None and min(media) <= 0:
        raise ctx.invalid(clip, "its crop lies outside the source; give x, y, width and height within it")
    hug = None
    if isinstance(element, TextElement) and text_builder.hugs(element):
        hug = text_builder.hug_size(ctx, clip, frame)
    return place(element, frame, media, length, hug=hug)


def _draws_a_band(element: VisualElement, placement: Placement) -> bool:
    """Subtitles drawn on the part of their box the cues use: only where nothing (a rotation, a
    wipe, a look such as a vignette) depends on the whole box."""
    return (
        isinstance(element, SubtitlesElement)
        and placement.rotation.at(0) % 360 == 0
        and not placement.wipes
        and not has_looks(element)
    )


def needs_alpha(job: Build, placement: Placement) -> bool:
    """Whether the layer's stream must carry transparency (costs an alpha plane per frame)."""
    element, info = job.clip.element, job.clip.info
    rotation = placement.rotation
    return (
        kind_of(element).needs_alpha(job)
        or (info is not None and info.has_alpha)
        or not placement.opacity.is_constant
        or placement.opacity.at(0) < 1
        or element.fade_in > 0
        or element.fade_out > 0
        or not rotation.is_constant
        or rotation.at(0) % 360 != 0
        or placement.resizes
        or bool(placement.wipes)
    )


def _timed(
    ctx: RenderContext,
    clip: Clip,
    placement: Placement,
    alpha: bool,
    *,
    length: float,
    whole: float,
    freeze: bool,
) -> list[Filter]:
    """Length, fades and opacity of a stream in the element's own time (fades and opacity are
    placed in the whole element, `length` is what this timeline shows of it)."""
    element = clip.element
    filters: list[Filter] = []
    if freeze:
        filters.append(f("tpad", stop_mode="clone", stop_duration=f"{length:.6f}"))
    if clip.skip:  # the stream is in the element's own time; a sought source may start a frame early
        filters.append(f("trim", start=f"{clip.skip:.6f}", end=f"{clip.skip + length:.6f}"))
    else:
        filters.append(f("trim", duration=f"{length:.6f}"))
    if element.fade_in > 0:
        filters.append(f("fade", t="in", st=0, d=f"{min(element.fade_in, whole):.6f}", alpha=int(alpha)))
    if element.fade_out > 0:
        fade = min(element.fade_out, whole)
        filters.append(f("fade", t="out", st=f"{whole - fade:.6f}", d=f"{fade:.6f}", alpha=int(alpha)))
    opacity = placement.opacity
    if opacity.is_constant and opacity.at(0) < 1:
        filters.append(f("lut", a=f"val*{opacity.at(0):.4f}"))
    elif not opacity.is_constant:
        filters += _opacity_commands(ctx, clip, opacity, whole)
    return filters


def _opacity_commands(ctx: RenderContext, clip: Clip, opacity: Curve, whole: float) -> list[Filter]:
    """Opacity that changes: lut's alpha set per frame by sendcmd (lut cannot see time). Commands
    before the stream's first frame all run on it, leaving the value of that moment."""
    name = f"lut@opacity{clip.index}"
    frames = max(1, math.ceil(whole * ctx.fps))
    lines, last = [], opacity.at(0)
    for n in range(1, frames + 1):
        t = n / ctx.fps
        value = opacity.at(t)
        if abs(value - last) >= 1e-4:
            lines.append(f"{t - 0.5 / ctx.fps:.6f} {name} a val*{max(0.0, min(1.0, value)):.4f};")
            last = value
    path = ctx.work_dir / f"opacity_{clip.index}.cmd"
    ctx.text_files[path] = "\n".join(lines) + "\n"
    return [f("sendcmd", f=str(path)), f(name, a=f"val*{max(0.0, min(1.0, opacity.at(0))):.4f}")]


def _resize(placement: Placement, width: int, height: int) -> list[Filter]:
    """The content scaled per frame and padded back to its largest size about the anchor."""
    ax, ay = placement.anchor
    return [
        f("scale", w=f"max(1,{placement.width.expr()})", h=f"max(1,{placement.height.expr()})", eval="frame"),
        f(
            "pad",
            w=width,
            h=height,
            x=f"(ow-iw)*{ax:.6f}",
            y=f"(oh-ih)*{ay:.6f}",
            color="black@0",
            eval="frame",
        ),
    ]


def _wipe(
    ctx: RenderContext, clip: Clip, stream: Stream, wipe: Animation, size: tuple[int, int], whole: float
) -> Stream:
    """Revealed from (or hidden towards) an edge: the stream's alpha multiplied by a mask, an
    opaque panel sliding over a transparent one, in the element's own time (so a window that
    begins mid-wipe continues it)."""
    width, height = size
    seconds = min(wipe.duration, whole)
    start = 0.0 if wipe.time == "start" else whole - seconds
    entering = wipe.time == "start"
    travel = {"left": -width, "right": width, "up": -height, "down": height}[wipe.direction]
    offset = Curve.ramp(
        start, start + seconds, travel if entering else 0.0, 0.0 if entering else travel, wipe.easing
    )
    clock = [f("trim", start=f"{clip.skip:.6f}")] if clip.skip else []
    canvas = chain(
        source("color", c="black@0", s=f"{width}x{height}", r=f"{ctx.fps:g}", d=f"{whole:.6f}"),
        [*clock, f("format", "yuva420p")],
    )
    panel = chain(
        source("color", c="white", s=f"{width}x{height}", r=f"{ctx.fps:g}", d=f"{whole:.6f}"),
        [*clock, f("format", "yuva420p")],
    )
    horizontal = wipe.direction in ("left", "right")
    position = {"x": offset.expr(), "y": 0} if horizontal else {"x": 0, "y": offset.expr()}
    mask = join([canvas, panel], "overlay", **position, format="yuv420")
    modes = {"c0_mode": "normal", "c1_mode": "normal", "c2_mode": "normal", "c3_mode": "multiply"}
    return join([stream, chain(mask, [f("format", "yuva420p")])], "blend", **modes)
