"""`text`: wrapped and drawn once on a transparent canvas and held; with a typewriter animation,
drawn per frame with the characters shown so far.

Text that sizes its own box (placed by x/y, no width or height) is measured here first, wrapped
only where it would leave its frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTLibError

from media.builders import Build
from media.builders.fitting import held
from media.builders.kinds import URL_LIKE, Drawn, File
from media.context import RenderContext
from media.graph import Filter, Stream, chain, f, source
from media.looks import looks
from media.motion import EASE
from media.placement import Frame
from media.text import Font, choose_font, drawtext_filter, text_block, wrap_text
from media.timeline import Clip
from schemas.elements import Animation, ElementBase, TextElement
from schemas.units import LENGTH_RE, resolve_font_size, resolve_length

MAX_TYPEWRITER_STEPS = 60


@dataclass(frozen=True)
class TextLayout:
    font: Font
    size: float  # font size in pixels
    text: str  # wrapped
    width: float  # the block with its padding and stroke
    height: float


def layout(ctx: RenderContext, clip: Clip, box_width: float) -> TextLayout:
    element = clip.element
    assert isinstance(element, TextElement)
    spec = ctx.spec
    size = resolve_font_size(element.font_size, spec.out_width, spec.out_height)
    font = choose_font(element, ctx.sources.get(clip.index))
    margin = element.background_padding + (element.stroke.width if element.stroke else 0.0)
    try:
        text = wrap_text(element.text, font.metrics, size, max(box_width - 2 * margin, size))
        width, height = text_block(text, font.metrics, size, element.line_spacing)
    except (TTLibError, OSError, KeyError) as exc:
        raise ctx.invalid(clip, f"its font is not a readable TrueType/OpenType file ({exc})") from exc
    return TextLayout(font, size, text, width + 2 * margin, height + 2 * margin)


def hugs(element: TextElement) -> bool:
    """Placed by x/y with no box: the box is the text's own size."""
    return (
        element.width is None and element.height is None and (element.x is not None or element.y is not None)
    )


def hug_size(ctx: RenderContext, clip: Clip, frame: Frame) -> tuple[float, float]:
    lay = layout(ctx, clip, _room(clip.element, frame))
    return float(math.ceil(lay.width - 1e-6)), float(math.ceil(lay.height - 1e-6))


def _room(element: object, frame: Frame) -> float:
    """How wide the text may grow before it would leave the frame, from where its anchor is."""
    assert isinstance(element, TextElement)
    if element.x is None:
        return float(frame.width)
    first = element.x[0].value if isinstance(element.x, list) else element.x
    x = resolve_length(first, frame.width)
    anchor = element.x_anchor
    match = LENGTH_RE.match(anchor) if isinstance(anchor, str) else None
    a = float(match.group(1)) / 100 if match and match.group(2) == "%" else 0.0
    limits = [frame.width - x if a <= 0 else (frame.width - x) / (1 - a) if a < 1 else math.inf]
    if a > 0:
        limits.append(x / a)
    return max(1.0, min(limits))


def build(ctx: RenderContext, job: Build) -> Stream:
    clip, element = job.clip, job.clip.element
    assert isinstance(element, TextElement)
    lay = layout(ctx, clip, job.width)
    typewriters = [a for a in element.animations if a.type == "typewriter"]
    size = f"{job.width}x{job.height}"
    if not lay.text.strip():
        canvas = source("color", c="black@0", s=size, r=f"{ctx.fps:g}", d=1)
        return chain(canvas, [f("trim", end_frame=1), f("format", "yuva420p"), *ctx.hold(job.skip)])
    if not typewriters:
        canvas = source("color", c="black@0", s=size, r=f"{ctx.fps:g}", d=1)
        drawn = drawtext_filter(element, lay.font, _text_file(ctx, clip, lay.text, 0), lay.size)
        return held(ctx, job, chain(canvas, [f("trim", end_frame=1), f("format", "yuva420p"), drawn]))
    canvas = source("color", c="black@0", s=size, r=f"{ctx.fps:g}", d=f"{job.whole:.6f}")
    filters: list[Filter] = [f("trim", start=f"{job.skip:.6f}")] if job.skip else []
    filters.append(f("format", "yuva420p"))
    for n, (start, end, shown) in enumerate(_steps(typewriters, lay.text, job.whole, ctx.fps)):
        enable = f"gte(t,{start:.6f})" if end is None else f"gte(t,{start:.6f})*lt(t,{end:.6f})"
        text_file = _text_file(ctx, clip, _prefix(lay.text, shown), n)
        filters.append(drawtext_filter(element, lay.font, text_file, lay.size, enable=enable))
    return looks(chain(canvas, filters), element, job.alpha)


def _text_file(ctx: RenderContext, clip: Clip, text: str, step: int) -> Path:
    path = ctx.work_dir / (f"text_{clip.index}.txt" if step == 0 else f"text_{clip.index}_{step}.txt")
    ctx.text_files[path] = text
    return path


def _prefix(text: str, shown: int) -> str:
    """The first `shown` characters, with the later line breaks kept so the block keeps its height."""
    return text[:shown] + "\n" * text[shown:].count("\n")


def _steps(
    typewriters: list[Animation], text: str, length: float, fps: float
) -> list[tuple[float, float | None, int]]:
    """(from, until or None, characters shown) intervals that differ from their neighbours."""
    total = len(text)

    def shown(t: float) -> int:
        count = total
        for animation in typewriters:
            seconds = min(animation.duration, length)
            start = 0.0 if animation.time == "start" else length - seconds
            p = min(1.0, max(0.0, (t - start) / seconds))
            eased = EASE[animation.easing](p)
            count = min(count, round(total * (eased if animation.time == "start" else 1 - eased)))
        return count

    frames = max(1, round(length * fps))
    steps = min(frames, MAX_TYPEWRITER_STEPS * len(typewriters) + 1)
    times = sorted({length * n / steps for n in range(steps)} | {0.0})
    intervals: list[tuple[float, float | None, int]] = []
    for t in times:
        count = shown(t + 1e-9)
        if intervals and intervals[-1][2] == count:
            continue
        if intervals:
            previous = intervals[-1]
            intervals[-1] = (previous[0], t, previous[2])
        intervals.append((t, None, count))
    return [item for item in intervals if item[2] > 0]


class TextKind(Drawn):
    model = TextElement
    builder = staticmethod(build)

    def needs_alpha(self, job: Build) -> bool:
        return True  # drawn on a transparent canvas

    def fonts(self, element: ElementBase, font_file: Path | None) -> list[Font]:
        assert isinstance(element, TextElement)
        return [choose_font(element, font_file)]

    def files(self, element: ElementBase) -> list[File]:
        """Its font, when font_family is a URL."""
        assert isinstance(element, TextElement)
        family = element.font_family
        return [File(family.strip(), "font")] if family and URL_LIKE.match(family) else []


KIND = TextKind()
