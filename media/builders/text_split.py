"""`text` whose animations run per line, word or letter (`split`): one drawtext per part, placed
where the whole block's drawtext puts it, with its own opacity, offset and size over time; each
part starts its preset `stagger` seconds after the one before it, in reading order (entering and
leaving alike).

Parts are placed with the metrics that wrap and size the block (media.text), and the glyphs' ink
(drawtext places a block by its first line's highest ink and sizes it down to its last line's
lowest). drawtext shapes a whole line with kerning that a lone letter lacks, so a part can sit a
pixel from where the unsplit line would draw it. A background box is drawn once, behind all
parts, for the whole element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont

from media.builders import Build
from media.context import RenderContext
from media.fonts import right_to_left
from media.graph import Filter, Stream, chain, f, source
from media.looks import looks
from media.motion import Curve
from media.placement import SCALE_FLOOR, slid
from media.text import drawtext_filter, line_height, text_width
from schemas.elements import Animation, TextElement
from schemas.motion import MAX_SPLIT_PARTS, Split

if TYPE_CHECKING:
    from media.builders.text import TextLayout

FINER: tuple[Split, ...] = ("letter", "word", "line")  # a finer part knows which coarser ones hold it
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Part:
    """A run of text drawn by itself: its box in the element's box, and its place in reading order."""

    text: str
    x: float  # left edge
    y: float  # its line's top
    width: float
    height: float  # its line's
    baseline: float  # where drawtext puts it (y_align=baseline), so its glyphs sit as in the line
    index: dict[Split, int]  # the line's, word's and letter's number (those at least this large)


def splits(element: TextElement) -> bool:
    return any(animation.split is not None for animation in element.animations)


def build(ctx: RenderContext, job: Build, lay: TextLayout) -> Stream:
    clip, element = job.clip, job.clip.element
    assert isinstance(element, TextElement)
    if not lay.letters.single or any(right_to_left(line) for line in lay.text.split("\n")):
        reason = "split animations move left-to-right text set in one font; this text needs " + (
            "several fonts" if not lay.letters.single else "right-to-left lines"
        )
        raise ctx.invalid(clip, reason)
    split = [a for a in element.animations if a.split is not None]
    finest = min((a.split for a in split if a.split is not None), key=FINER.index)
    parts = layout_parts(element, lay, (job.width, job.height), finest)
    if len(parts) > MAX_SPLIT_PARTS:
        reason = f"its text splits into {len(parts)} {finest}s; at most {MAX_SPLIT_PARTS} animate one by one"
        raise ctx.invalid(clip, reason)
    counts = {kind: 1 + max((p.index[kind] for p in parts if kind in p.index), default=-1) for kind in FINER}
    canvas = source(
        "color", c="black@0", s=f"{job.width}x{job.height}", r=f"{ctx.fps:g}", d=f"{job.whole:.6f}"
    )
    filters: list[Filter] = [f("trim", start=f"{job.skip:.6f}")] if job.skip else []
    filters.append(f("format", "yuva420p"))
    if element.background_color:
        plate = element.model_copy(update={"color": "#00000000", "stroke": None, "shadow": None})
        filters.append(
            drawtext_filter(plate, lay.letters.font, _text_file(ctx, clip.index, "all", lay.text), lay.size)
        )
    bare = element.model_copy(update={"background_color": None})
    for n, part in enumerate(parts):
        text_file = _text_file(ctx, clip.index, str(n), part.text)
        drawn = drawtext_filter(bare, lay.letters.font, text_file, lay.size)
        motion = _part_motion(split, part, counts, job.whole, (job.width, job.height), lay.size)
        filters.append(replace(drawn, options=drawn.options | motion))
    return looks(chain(canvas, filters), element, job.alpha)


def layout_parts(element: TextElement, lay: TextLayout, box: tuple[int, int], kind: Split) -> list[Part]:
    """The wrapped text's lines, words or letters where drawtext draws the block (see
    media.text.drawtext_filter): lines aligned in the box; the block placed by vertical_align
    by drawtext's own height, from the first line's highest ink to the last line's lowest."""
    metrics, size, pad = lay.letters.font.metrics, lay.size, element.background_padding
    lines = lay.text.split("\n")
    height, ascent = line_height(metrics, size), font_ascent(metrics, size)
    step = height + element.line_spacing
    ink = (
        ink_extent(lines[0], metrics, size)[0]
        + (len(lines) - 1) * step
        + ink_extent(lines[-1], metrics, size)[1]
    )
    top = {"top": pad, "center": (box[1] - ink) / 2, "bottom": box[1] - ink - pad}[element.vertical_align]
    first = top + ink_extent(lines[0], metrics, size)[0]  # the first line's baseline
    parts: list[Part] = []
    count: dict[Split, int] = {"line": 0, "word": 0, "letter": 0}
    for row, line in enumerate(lines):
        words = list(_WORD.finditer(line))
        if not words:
            continue
        width = text_width(line, metrics, size)
        left = {"left": pad, "center": (box[0] - width) / 2, "right": box[0] - width - pad}[element.align]
        baseline = first + row * step
        for start, end, index in _runs(words, kind, count):
            x = left + text_width(line[:start], metrics, size)
            run = line[start:end]
            parts.append(
                Part(run, x, baseline - ascent, text_width(run, metrics, size), height, baseline, index)
            )
    return parts


@lru_cache(maxsize=16)
def _font(font_path: Path) -> tuple[TTFont, int, int]:
    font = TTFont(str(font_path), lazy=True, fontNumber=0)
    return font, font["head"].unitsPerEm, font["hhea"].ascent


@lru_cache(maxsize=4096)
def _glyph_extent(font_path: Path, char: str) -> tuple[float, float]:
    """A character's ink above and below the baseline, in font units (0, 0 for none)."""
    font, _, _ = _font(font_path)
    name = (font.getBestCmap() or {}).get(ord(char), font.getGlyphOrder()[0])
    pen = BoundsPen(font.getGlyphSet())
    font.getGlyphSet()[name].draw(pen)
    if pen.bounds is None:
        return 0.0, 0.0
    return max(0.0, pen.bounds[3]), max(0.0, -pen.bounds[1])


def ink_extent(text: str, font_path: Path, size: float) -> tuple[float, float]:
    """Pixels of ink above and below the baseline: what drawtext's text_h counts of a line."""
    _, units, _ = _font(font_path)
    extents = [_glyph_extent(font_path, char) for char in text if not char.isspace()]
    return (
        max((a for a, _ in extents), default=0.0) * size / units,
        max((d for _, d in extents), default=0.0) * size / units,
    )


def font_ascent(font_path: Path, size: float) -> float:
    """Pixels from a line's top to its baseline."""
    _, units, ascent = _font(font_path)
    return ascent * size / units


def _runs(
    words: list[re.Match[str]], kind: Split, count: dict[Split, int]
) -> list[tuple[int, int, dict[Split, int]]]:
    """A line's parts as character spans with their numbers, counted on from `count` (advanced)."""
    runs: list[tuple[int, int, dict[Split, int]]] = []
    if kind == "line":
        runs.append((words[0].start(), words[-1].end(), {"line": count["line"]}))
    for word in words:
        if kind == "word":
            runs.append((word.start(), word.end(), {"line": count["line"], "word": count["word"]}))
        for at in range(word.start(), word.end()):
            if kind == "letter":
                runs.append((at, at + 1, dict(count)))
            count["letter"] += 1
        count["word"] += 1
    count["line"] += 1
    return runs


def _part_motion(
    animations: list[Animation],
    part: Part,
    counts: dict[Split, int],
    whole: float,
    box: tuple[int, int],
    size: float,
) -> dict[str, object]:
    """drawtext's x, y, alpha and fontsize for one part: each split preset's ramp in the part's
    own window, scaling about the part's centre."""
    alpha, scale = Curve.constant(1.0), Curve.constant(1.0)
    dx, dy = Curve.constant(0.0), Curve.constant(0.0)
    for animation in animations:
        assert animation.split is not None
        start, end = _window(animation, part.index[animation.split], counts[animation.split], whole)
        entering = animation.time == "start"
        if animation.type == "fade":
            alpha = alpha.times(
                Curve.ramp(start, end, 0.0 if entering else 1.0, 1.0 if entering else 0.0, animation.easing)
            )
        elif animation.type == "scale":
            first, last = (SCALE_FLOOR, 1.0) if entering else (1.0, SCALE_FLOOR)
            scale = scale.times(Curve.ramp(start, end, first, last, animation.easing))
        else:  # slide: from (to) just past the box's edge, where the box hides it
            dx, dy = slid(animation, start, end, (part.x, part.y, part.width, part.height), box, dx, dy)
    shrink = Curve.constant(1.0).plus(scale.times(Curve.constant(-1.0)))  # 1 - scale, of the size lost
    centre = part.y + part.height / 2
    x = Curve.constant(part.x).plus(dx).plus(shrink.times(Curve.constant(part.width / 2)))
    y = Curve.constant(part.baseline).plus(dy).plus(shrink.times(Curve.constant(centre - part.baseline)))
    options: dict[str, object] = {"x": x.expr(), "y": y.expr(), "y_align": "baseline"}
    if not alpha.is_constant:
        options["alpha"] = f"clip({alpha.expr()},0,1)"
    if not scale.is_constant:
        options["fontsize"] = f"max(1,{scale.times(Curve.constant(size)).expr()})"
    return options


def _window(animation: Animation, index: int, count: int, whole: float) -> tuple[float, float]:
    """Part `index` of `count`'s seconds: entering, the first part starts at 0; leaving, the last
    part ends with the element. The stagger shrinks so that every part's preset fits."""
    seconds = min(animation.duration, whole)
    stagger = animation.stagger if count < 2 else min(animation.stagger, (whole - seconds) / (count - 1))
    start = index * stagger if animation.time == "start" else whole - seconds - (count - 1 - index) * stagger
    return start, start + seconds


def _text_file(ctx: RenderContext, index: int, name: str, text: str) -> Path:
    path = ctx.work_dir / f"text_{index}_part_{name}.txt"
    ctx.text_files[path] = text
    return path
