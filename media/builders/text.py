"""`text`: wrapped and drawn once on a transparent canvas and held; with a typewriter animation,
drawn per frame with the characters shown so far.

Text that sizes its own box (placed by x/y, no width or height) is measured here first, wrapped
only where it would leave its frame. Text with `font_size: "auto"` is wrapped at its box's width
at the largest size whose block fits the box (a binary search over the measured layout).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTLibError

from media.builders import Build, text_split
from media.builders.fitting import held
from media.builders.kinds import URL_LIKE, Drawn, File
from media.context import RenderContext
from media.fonts import Font, font_key
from media.graph import Filter, Stream, chain, f, source
from media.looks import looks
from media.motion import ease
from media.placement import Frame
from media.text import Lettering, choose_font, draw_text, lettering, wrap_text
from media.timeline import Clip
from schemas.elements import Animation, ElementBase, TextElement
from schemas.units import AUTO, LENGTH_RE, resolve_font_size, resolve_length

MAX_TYPEWRITER_STEPS = 60
MIN_AUTO_SIZE = 8.0  # pixels: the default smallest size of font_size "auto"
AUTO_PRECISION = 0.25  # pixels: the search for an auto size stops this close to the largest fit


@dataclass(frozen=True)
class TextLayout:
    letters: Lettering
    size: float  # font size in pixels
    text: str  # wrapped
    width: float  # the block with its padding and stroke
    height: float
    block: tuple[float, float]  # the text alone


def layout(ctx: RenderContext, clip: Clip, box_width: float, box_height: float | None = None) -> TextLayout:
    """The text wrapped at `box_width`; with font_size "auto", sized to fit `box_height` too."""
    element = clip.element
    assert isinstance(element, TextElement)
    margin = element.background_padding + (element.stroke.width if element.stroke else 0.0)
    try:
        letters = lettering(element.text, choose_font(element, ctx.sources.get(font_key(clip.index))))

        def wrapped(size: float) -> tuple[str, tuple[float, float]]:
            text = wrap_text(
                element.text, lambda line: letters.width(line, size), max(box_width - 2 * margin, size)
            )
            return text, letters.block(text, size, element.line_spacing)

        if element.font_size == AUTO:
            assert box_height is not None  # validated: "auto" comes with width and height
            size = _fitted(ctx, clip, wrapped, box_width - 2 * margin, box_height - 2 * margin)
        else:
            size = resolve_font_size(element.font_size, ctx.spec.out_width, ctx.spec.out_height)
        text, block = wrapped(size)
    except (TTLibError, OSError, KeyError) as exc:
        raise ctx.invalid(clip, f"its font is not a readable TrueType/OpenType file ({exc})") from exc
    return TextLayout(letters, size, text, block[0] + 2 * margin, block[1] + 2 * margin, block)


def _fitted(
    ctx: RenderContext,
    clip: Clip,
    wrapped: Callable[[float], tuple[str, tuple[float, float]]],
    width: float,
    height: float,
) -> float:
    """The largest size in [min_font_size, max_font_size] whose wrapped block fits width x height,
    or the smallest when none does (the text is then cut at the box)."""
    element = clip.element
    assert isinstance(element, TextElement)
    out = ctx.spec.out_width, ctx.spec.out_height
    given_low, given_high = element.min_font_size, element.max_font_size
    high = resolve_font_size(given_high, *out) if given_high is not None else max(height, 1.0)
    low = resolve_font_size(given_low, *out) if given_low is not None else min(MIN_AUTO_SIZE, high)
    high = high if given_high is not None else max(high, low)
    if low > high:
        message = f"its min_font_size ({low:g} px) is larger than its max_font_size ({high:g} px)"
        raise ctx.invalid(clip, message)

    def fits(size: float) -> bool:
        block = wrapped(size)[1]
        return block[0] <= width + 1e-6 and block[1] <= height + 1e-6

    if fits(high):
        return high
    while high - low > AUTO_PRECISION:
        middle = (low + high) / 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


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
    lay = layout(ctx, clip, job.width, job.height)
    typewriters = [a for a in element.animations if a.type == "typewriter"]
    size = f"{job.width}x{job.height}"
    if not lay.text.strip():
        canvas = source("color", c="black@0", s=size, r=f"{ctx.fps:g}", d=1)
        return chain(canvas, [f("trim", end_frame=1), f("format", "yuva420p"), *ctx.hold(job.skip)])
    if text_split.splits(element):
        return text_split.build(ctx, job, lay)
    if not typewriters:
        canvas = source("color", c="black@0", s=size, r=f"{ctx.fps:g}", d=1)
        drawn = draw_text(element, lay.letters, lay.size, lay.text, lay.block, _files(ctx, clip, 0))
        return held(ctx, job, chain(canvas, [f("trim", end_frame=1), f("format", "yuva420p"), *drawn]))
    canvas = source("color", c="black@0", s=size, r=f"{ctx.fps:g}", d=f"{job.whole:.6f}")
    filters: list[Filter] = [f("trim", start=f"{job.skip:.6f}")] if job.skip else []
    filters.append(f("format", "yuva420p"))
    for n, (start, end, shown) in enumerate(_steps(typewriters, lay.text, job.whole, ctx.fps)):
        enable = f"gte(t,{start:.6f})" if end is None else f"gte(t,{start:.6f})*lt(t,{end:.6f})"
        shown_text = _prefix(lay.text, shown)
        filters += draw_text(
            element, lay.letters, lay.size, shown_text, lay.block, _files(ctx, clip, n), enable=enable
        )
    return looks(chain(canvas, filters), element, job.alpha)


def _files(ctx: RenderContext, clip: Clip, step: int) -> Callable[[str, int], Path]:
    """Where a step's texts are written: its n-th text (a run of a text set in several fonts)."""

    def text_file(text: str, n: int) -> Path:
        name = f"text_{clip.index}_{step}_{n}.txt" if step or n else f"text_{clip.index}.txt"
        path = ctx.work_dir / name
        ctx.text_files[path] = text
        return path

    return text_file


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
            eased = ease(animation.easing)(p)
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
        return [File(family.strip(), "font", font=True)] if family and URL_LIKE.match(family) else []


KIND = TextKind()
