"""`subtitles`: timed cues drawn with drawtext on a transparent canvas as long as the element.

Each cue is one drawtext of its wrapped text (a file read with `expansion=none`, so markup,
`%{...}`, quotes and backslashes are characters), enabled on the frames its window covers; a
`background_color` box is a drawbox under it. With `highlight_color`, a cue with word timings is
drawn a word per drawtext, each placed by the font's metrics, whose colour switches on the frames
the word is spoken (`fontcolor_expr`, only our numbers in it), so no glyph is ever drawn twice.

Times are whole frames (`n`) of the element's stream, as the output shows them. A filter costs
every frame that passes it, even when disabled, so the canvas is cut into segments of at most
CHUNK_DRAWS filters and the segments are concatenated: a frame only passes its own segment's.
Blending costs every pixel of the canvas, so a layer that stays put is built by `build_band`: on
the band its cues are drawn in (a bottom line of a full-frame element is a tenth of the frame).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTLibError

from media.builders import Build
from media.builders.fitting import from_skip, held
from media.builders.kinds import URL_LIKE, Drawn, File
from media.context import RenderContext
from media.fonts import Font, font_key, one_font
from media.graph import Filter, Stream, chain, f, join, source
from media.looks import looks
from media.subtitles import SubtitlesFileError, read_subtitles
from media.text import choose_font, ffmpeg_color, line_height, text_block, text_width, wrap_text
from media.timeline import Clip
from schemas.elements import ElementBase, SubtitlesElement
from schemas.subtitles import Cue
from schemas.units import resolve_font_size, resolve_length

CHUNK_DRAWS = 16
BOX_PADDING = 0.25  # of the font size, around the text of a cue with a background
INK_MARGIN = 0.25  # of the font size, around a cue's laid-out text, for glyphs reaching past it


@dataclass(frozen=True)
class _Style:
    element: SubtitlesElement
    font: Font  # the element's; a cue it lacks characters of is drawn in a bundled font that has them
    size: float
    outer: float  # what surrounds the text: box padding, stroke
    width: int  # the canvas
    height: int


@dataclass(frozen=True)
class _Run:
    """Text drawn at (x, y), from a file; coloured by highlight on frames [first, end)."""

    file: Path
    x: int
    y: int
    highlight: tuple[int, int] | None = None


@dataclass(frozen=True)
class _Shown:
    """A cue's draws over frames [first, end) of the element."""

    first: int
    end: int
    box: tuple[int, int, int, int] | None
    font: Font
    runs: tuple[_Run, ...]
    centred: bool  # one multi-line run, its lines centred on each other
    ink: tuple[float, float, float, float]  # left, top, right, bottom of all it draws

    @property
    def filters(self) -> int:
        return len(self.runs) + (self.box is not None)


Region = tuple[int, int, int, int]  # x, y, width, height in the box


def build(ctx: RenderContext, job: Build) -> Stream:
    """The cues on a canvas the size of the whole box."""
    style, shown, frames = _laid_out(ctx, job)
    return _drawn(ctx, job, style, shown, frames, (0, 0, job.width, job.height))


def build_band(ctx: RenderContext, job: Build) -> tuple[Stream, Region]:
    """The cues on a canvas of only the part of the box they draw in, and where that part is; the
    cues are read and laid out once for both."""
    style, shown, frames = _laid_out(ctx, job)
    band = _band(job, shown)
    return _drawn(ctx, job, style, shown, frames, band), band


def _drawn(
    ctx: RenderContext, job: Build, style: _Style, shown: list[_Shown], frames: int, canvas_at: Region
) -> Stream:
    element = job.clip.element
    assert isinstance(element, SubtitlesElement)
    left, top, width, height = canvas_at
    size = f"{width}x{height}"
    if not shown:
        canvas = source("color", c="black@0", s=size, r=f"{ctx.fps:g}", d=1)
        return held(ctx, job, chain(canvas, [f("trim", end_frame=1), f("format", "yuva420p")]))
    segments = []
    for first, end, items in _chunks(shown, frames + 1):
        canvas = source(
            "color", c="black@0", s=size, r=f"{ctx.fps:g}", d=f"{(end - first + 1) / ctx.fps:.6f}"
        )
        filters = [f("trim", end_frame=end - first), f("format", "yuva420p")]
        for item in items:
            filters += _draws(style, item, first, (left, top))
        segments.append(chain(canvas, filters))
    drawn = segments[0] if len(segments) == 1 else join(segments, "concat", n=len(segments), v=1, a=0)
    return chain(looks(drawn, element, job.alpha), from_skip(job))


def _band(job: Build, shown: list[_Shown]) -> Region:
    """The part of the box the cues draw in, its corner on even pixels so the chroma of a 4:2:0
    overlay falls as it would on the whole box."""
    if not shown:
        return 0, 0, min(2, job.width), min(2, job.height)
    left = max(0, math.floor(min(item.ink[0] for item in shown)) // 2 * 2)
    top = max(0, math.floor(min(item.ink[1] for item in shown)) // 2 * 2)
    right = min(job.width, -(-math.ceil(max(item.ink[2] for item in shown)) // 2) * 2)
    bottom = min(job.height, -(-math.ceil(max(item.ink[3] for item in shown)) // 2) * 2)
    return left, top, max(1, right - left), max(1, bottom - top)


def _laid_out(ctx: RenderContext, job: Build) -> tuple[_Style, list[_Shown], int]:
    """The style, the cues this stream shows laid out in the box, and the stream's frame count."""
    style = _style(ctx, job.clip, job)
    frames = max(1, math.ceil(job.length * ctx.fps - 1e-6))
    shown = [
        item
        for n, cue in enumerate(_cues(ctx, job.clip))
        if (item := _layout(ctx, job, style, n, cue, frames)) is not None
    ]
    return style, shown, frames


def _cues(ctx: RenderContext, clip: Clip) -> list[Cue]:
    """Inline cues as validated, or the source file's, read now."""
    element = clip.element
    assert isinstance(element, SubtitlesElement)
    if element.cues is not None:
        return element.cues
    path = ctx.sources.get(clip.index)
    if path is None:
        raise ctx.invalid(clip, "its subtitles file was not provided to the renderer")
    try:
        return read_subtitles(path)
    except SubtitlesFileError as exc:
        raise ctx.invalid(clip, f"its subtitles file is not valid SRT or WebVTT ({exc})") from None


def _style(ctx: RenderContext, clip: Clip, job: Build) -> _Style:
    element = clip.element
    assert isinstance(element, SubtitlesElement)
    size = resolve_font_size(element.font_size, ctx.spec.out_width, ctx.spec.out_height)
    font = choose_font(element, ctx.sources.get(font_key(clip.index)))
    stroke = element.stroke.width if element.stroke else 0.0
    outer = stroke + (BOX_PADDING * size if element.background_color else 0.0)
    try:  # read now, so a file that is no font fails naming the element
        line_height(font.metrics, size)
    except (TTLibError, OSError, KeyError) as exc:
        raise ctx.invalid(clip, f"its font is not a readable TrueType/OpenType file ({exc})") from exc
    return _Style(element, font, size, outer, job.width, job.height)


def _frame(seconds: float, fps: float) -> int:
    """The first frame shown at or after `seconds`."""
    return max(0, math.ceil(seconds * fps - 1e-6))


def _layout(ctx: RenderContext, job: Build, style: _Style, n: int, cue: Cue, frames: int) -> _Shown | None:
    """Where the cue's text goes and on which of the stream's frames (frame 0 is the element's
    time `job.skip`)."""
    first, end = _frame(cue.start - job.skip, ctx.fps), min(frames, _frame(cue.end - job.skip, ctx.fps))
    if first >= end or not cue.shown.strip():
        return None
    font = one_font(cue.shown, style.font) or style.font
    element, metrics, size = style.element, font.metrics, style.size
    room = max(size, resolve_length(element.max_width, style.width) - 2 * style.outer)
    karaoke = element.highlight_color is not None and bool(cue.words)
    if karaoke:
        assert cue.words is not None
        rows = _word_rows([w.text for w in cue.words], metrics, size, room)
        texts = [" ".join(cue.words[i].text for i in row) for row in rows]
    else:
        texts = wrap_text(cue.shown, lambda line: text_width(line, metrics, size), room).split("\n")
    width, height = text_block("\n".join(texts), metrics, size, 0.0)
    left = (style.width - width) / 2
    top = {
        "top": resolve_length(element.margin, style.height) + style.outer,
        "center": (style.height - height) / 2,
        "bottom": style.height - resolve_length(element.margin, style.height) - style.outer - height,
    }[element.position]
    box = None
    if element.background_color:
        pad = BOX_PADDING * size
        box = (round(left - pad), round(top - pad), round(width + 2 * pad), round(height + 2 * pad))
    ink = _ink(style, (left, top, left + width, top + height), box)
    stem = f"subtitle_{job.clip.index}_{n}"
    if not karaoke:
        run = _Run(_text_file(ctx, f"{stem}.txt", "\n".join(texts)), round(left), round(top))
        return _Shown(first, end, box, font, (run,), centred=True, ink=ink)
    assert cue.words is not None
    runs = []
    for row_number, row in enumerate(rows):
        x = left + (width - text_width(texts[row_number], metrics, size)) / 2
        y = round(top + row_number * line_height(metrics, size))
        for position, index in enumerate(row):
            word = cue.words[index]
            file = _text_file(ctx, f"{stem}_{index}.txt", word.text)
            lit = (_frame(word.start - job.skip, ctx.fps), _frame(word.end - job.skip, ctx.fps))
            runs.append(_Run(file, round(x), y, lit if lit[0] < lit[1] else None))
            if position + 1 < len(row):
                x += text_width(word.text + " ", metrics, size)
    return _Shown(first, end, box, font, tuple(runs), centred=False, ink=ink)


def _ink(
    style: _Style, text: tuple[float, float, float, float], box: tuple[int, int, int, int] | None
) -> tuple[float, float, float, float]:
    """What a cue draws: its text with stroke, shadow and a margin for overhanging glyphs, and
    its background box."""
    element = style.element
    grow = INK_MARGIN * style.size + (element.stroke.width if element.stroke else 0.0)
    left, top, right, bottom = text[0] - grow, text[1] - grow, text[2] + grow, text[3] + grow
    if element.shadow:
        left, right = left + min(0.0, element.shadow.x), right + max(0.0, element.shadow.x)
        top, bottom = top + min(0.0, element.shadow.y), bottom + max(0.0, element.shadow.y)
    if box is not None:
        left, top = min(left, box[0]), min(top, box[1])
        right, bottom = max(right, box[0] + box[2]), max(bottom, box[1] + box[3])
    return left, top, right, bottom


def _word_rows(words: Sequence[str], metrics: Path, size: float, room: float) -> list[list[int]]:
    """Greedy wrap by whole words (a word wider than the room gets a line of its own)."""
    rows: list[list[int]] = []
    line = ""
    for index, word in enumerate(words):
        candidate = f"{line} {word}" if line else word
        if rows and line and text_width(candidate, metrics, size) <= room:
            rows[-1].append(index)
            line = candidate
        else:
            rows.append([index])
            line = word
    return rows


def _text_file(ctx: RenderContext, name: str, text: str) -> Path:
    path = ctx.work_dir / name
    ctx.text_files[path] = text
    return path


def _chunks(shown: list[_Shown], frames: int) -> list[tuple[int, int, list[_Shown]]]:
    """Consecutive cues grouped into segments [first, end) of at most CHUNK_DRAWS filters, cut
    where a cue starts; together the segments cover frames 0 to `frames`."""
    groups: list[list[_Shown]] = [[]]
    for item in shown:
        if groups[-1] and sum(i.filters for i in groups[-1]) + item.filters > CHUNK_DRAWS:
            groups.append([])
        groups[-1].append(item)
    cuts = [0, *(group[0].first for group in groups[1:]), frames]
    return [(cuts[n], cuts[n + 1], group) for n, group in enumerate(groups)]


def _draws(style: _Style, item: _Shown, offset: int, origin: tuple[int, int]) -> list[Filter]:
    """The cue's filters in a segment whose frame 0 is the element's frame `offset`, on a canvas
    whose corner is the box's point `origin`."""
    element = style.element
    enable = f"between(n,{item.first - offset},{item.end - offset - 1})"
    dx, dy = origin
    filters: list[Filter] = []
    if item.box is not None and element.background_color:
        x, y, w, h = item.box
        filters.append(f("drawbox", x=x - dx, y=y - dy, w=w, h=h, t="fill", replace=1,
                         color=ffmpeg_color(element.background_color), enable=enable))  # fmt: skip
    for run in item.runs:
        options: dict[str, object] = {
            "textfile": str(run.file), "x": run.x - dx, "y": run.y - dy, "enable": enable
        }  # fmt: skip
        if item.centred:
            options["text_align"] = "C"
        if run.highlight is not None and element.highlight_color:
            options["fontcolor_expr"] = _switch(element.color, element.highlight_color, run.highlight, offset)
        filters.append(_drawtext(style, item.font, options))
    return filters


def _switch(base: str, lit: str, frames: tuple[int, int], offset: int) -> str:
    """A colour expression: `lit` on frames [first, end), else `base` (drawtext expands the
    %{eif} parts per frame; only numbers of ours are in it)."""
    on = f"between(n,{frames[0] - offset},{frames[1] - offset - 1})"
    (lit_rgb, lit_alpha), (base_rgb, base_alpha) = _rgba(lit), _rgba(base)
    return f"0x%{{eif:if({on},{lit_rgb},{base_rgb}):x:6}}%{{eif:if({on},{lit_alpha},{base_alpha}):x:2}}"


def _rgba(color: str) -> tuple[int, int]:
    """'#rrggbb[aa]' as the integers 0xrrggbb and 0xaa."""
    return int(color[1:7], 16), int(color[7:9] or "ff", 16)


def _drawtext(style: _Style, font: Font, options: dict[str, object]) -> Filter:
    element = style.element
    drawn: dict[str, object] = {"fontfile": str(font.file)} if font.file else {"font": font.family or ""}
    drawn |= {
        "expansion": "none",
        "fontsize": f"{style.size:.2f}",
        "fontcolor": ffmpeg_color(element.color),
        "y_align": "font",
    }
    if element.stroke and element.stroke.width > 0:
        drawn |= {"borderw": round(element.stroke.width), "bordercolor": ffmpeg_color(element.stroke.color)}
    if element.shadow:
        shadow = element.shadow
        drawn |= {
            "shadowx": round(shadow.x),
            "shadowy": round(shadow.y),
            "shadowcolor": ffmpeg_color(shadow.color),
        }
    return f("drawtext", **drawn, **options)


class SubtitlesKind(Drawn):
    model = SubtitlesElement
    builder = staticmethod(build)

    def needs_alpha(self, job: Build) -> bool:
        return True  # drawn on a transparent canvas

    def fonts(self, element: ElementBase, font_file: Path | None) -> list[Font]:
        assert isinstance(element, SubtitlesElement)
        return [choose_font(element, font_file)]

    def files(self, element: ElementBase) -> list[File]:
        """Its SRT or WebVTT file, read as text (never opened by FFmpeg), and its font when
        font_family is a URL."""
        assert isinstance(element, SubtitlesElement)
        files = [File(element.source.strip(), "subtitles")] if element.source else []
        family = element.font_family
        if family and URL_LIKE.match(family):
            files.append(File(family.strip(), "font", font=True))
        return files


KIND = SubtitlesKind()
