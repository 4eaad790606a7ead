"""Text elements: font choice, line wrapping and the drawtext filter.

User text never enters the filter graph: it is written verbatim to a file that drawtext reads
with `expansion=none`, so quotes, colons, backslashes, `%` and newlines are just characters.
Every other user string placed in the graph (a fontconfig family name) is an option value the
node graph escapes. Wrapping and measuring are done here with the font's metrics because
drawtext does not wrap. A text one font cannot draw alone (Latin with emoji, say) is drawn a run
of characters per drawtext (media.fonts), each placed on the line's baseline by our metrics.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import font_roboto
import uharfbuzz as hb
from fontTools.ttLib import TTFont

from media.fonts import FALLBACK_FONTS, Font, Run, clusters, one_font, right_to_left, runs
from media.graph import Filter, f
from schemas.elements import SubtitlesElement, TextElement

DEFAULT_FONT = Path(font_roboto.font_files["Roboto"])
_NAMED = [*font_roboto.font_files.items(), *((re.split(r"[\[-]", p.name)[0], p) for p in FALLBACK_FONTS)]
FAMILIES: dict[str, Path] = {
    re.sub(r"(?<=[a-z])([A-Z])", r" \1", name): Path(path) for name, path in _NAMED
}  # "Roboto", "Roboto Bold", "Roboto Bold Italic", ..., "Noto Sans", "Noto Sans Arabic", "Noto Emoji"
BUNDLED_FONTS: dict[str, Path] = {
    name.lower(): path for name, path in FAMILIES.items()
}  # `font_family` is caseless


def ffmpeg_color(color: str) -> str:
    """'#rrggbb[aa]' (validated by the schema) in FFmpeg's 0xRRGGBB[AA] form."""
    return "0x" + color.removeprefix("#").upper()


def choose_font(element: TextElement | SubtitlesElement, font_file: Path | None) -> Font:
    if font_file is not None:
        return Font(file=font_file, family=None, metrics=font_file)
    family = (element.font_family or "Roboto").strip()
    bundled = BUNDLED_FONTS.get(family.lower()) or BUNDLED_FONTS.get(f"roboto {family.lower()}")
    if bundled is not None:
        return Font(file=bundled, family=None, metrics=bundled)
    return Font(file=None, family=family, metrics=DEFAULT_FONT)


@lru_cache(maxsize=32)
def _vertical(font_path: Path) -> tuple[float, float]:
    """A font's ascent and line height (ascent to descent), in ems."""
    font = TTFont(str(font_path), lazy=True, fontNumber=0)
    units, hhea = font["head"].unitsPerEm, font["hhea"]
    return hhea.ascent / units, (hhea.ascent - hhea.descent) / units


def text_block(text: str, font_path: Path, size: float, line_spacing: float) -> tuple[float, float]:
    """Width and height of wrapped text as drawtext lays it out (lines of the font's height)."""
    lines = text.split("\n")
    width = max(text_width(row, font_path, size) for row in lines)
    return width, len(lines) * line_height(font_path, size) + (len(lines) - 1) * line_spacing


def line_height(font_path: Path, size: float) -> float:
    """Pixels from one line's top to the next's: the font's ascent to descent."""
    return _vertical(font_path)[1] * size


def text_width(text: str, font_path: Path, size: float) -> float:
    """The width of `text` shaped as drawtext shapes it (HarfBuzz): joined Arabic letters, kerning,
    ligatures, an emoji sequence as one glyph."""
    if not text:
        return 0.0  # HarfBuzz gives an empty buffer no positions at all
    font = _shaper(font_path)
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    hb.shape(font, buffer, {})
    return sum(glyph.x_advance for glyph in buffer.glyph_positions) * size / font.face.upem


@lru_cache(maxsize=32)
def _shaper(font_path: Path) -> hb.Font:
    return hb.Font(hb.Face(hb.Blob.from_file_path(str(font_path)), 0))


@dataclass(frozen=True)
class Lettering:
    """How a text is set: all in one font (`single`), or in runs of the element's font and the
    bundled fonts that have the characters it lacks; `faces` are the fonts its runs use."""

    font: Font
    single: bool
    faces: tuple[Path, ...]

    def runs(self, line: str) -> list[Run]:
        return [Run(self.font, line)] if self.single else runs(line, self.font)

    def width(self, text: str, size: float) -> float:
        """The widest line, in pixels."""
        return max(
            sum(text_width(r.text, r.font.metrics, size) for r in self.runs(row)) for row in text.split("\n")
        )

    def ascent(self, size: float) -> float:
        return max(_vertical(face)[0] for face in self.faces) * size

    def line_height(self, size: float) -> float:
        """One line's height: the tallest ascent over the deepest descent of the fonts used."""
        descent = max(line - ascent for ascent, line in map(_vertical, self.faces))
        return self.ascent(size) + descent * size

    def block(self, text: str, size: float, line_spacing: float) -> tuple[float, float]:
        """Width and height of wrapped text."""
        count = text.count("\n") + 1
        return self.width(text, size), count * self.line_height(size) + (count - 1) * line_spacing


def drawn_line(line: str) -> str:
    """A line as drawtext is given it: a right-to-left one between right-to-left marks, so that
    punctuation at its ends reads right to left too (drawtext lays lines out left to right)."""
    return f"\u200f{line}\u200f" if right_to_left(line) else line


def lettering(text: str, primary: Font) -> Lettering:
    """One font for all of `text` when one has every character, else runs of several."""
    whole = one_font(text, primary)
    if whole is not None:
        return Lettering(whole, True, (whole.metrics,))
    faces = dict.fromkeys(r.font.metrics for line in text.splitlines() for r in runs(line, primary))
    return Lettering(primary, False, tuple(faces) or (primary.metrics,))


_CJK = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3001-\u303f\u3040-\u30ff\u3100-\u31ff\u3200-\u9fff"
    "\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff"
)
_TOKENS = re.compile(f"[{_CJK}]| +|[^ {_CJK}]+")  # a CJK character, spaces, or a word


def wrap_text(text: str, measure: Callable[[str], float], max_width: float) -> str:
    """Greedy wrap to `max_width` pixels as `measure` counts them: at spaces and between CJK
    characters (which need no spaces); explicit newlines are kept, a word too long for a line is
    split between its characters."""
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = ""
        for token in _TOKENS.findall(paragraph):
            if token.startswith(" "):  # kept inside a line, dropped where it breaks
                line += token if line else ""
                continue
            if measure(line + token) <= max_width:
                line += token
                continue
            if line:
                lines.append(line.rstrip(" "))
                line = ""
            for cluster in clusters(token):
                if line and measure(line + cluster) > max_width:
                    lines.append(line)
                    line = ""
                line += cluster
        lines.append(line.rstrip(" "))
    return "\n".join(lines)


def draw_text(
    element: TextElement,
    letters: Lettering,
    size: float,
    text: str,
    block: tuple[float, float],
    text_file: Callable[[str, int], Path],
    **options: object,
) -> list[Filter]:
    """The filters drawing `text` (wrapped) in a box-sized canvas: one drawtext when one font has
    all of it, else a background box and a drawtext a run, placed in a block of size `block`."""
    if letters.single:
        drawn = "\n".join(drawn_line(line) for line in text.split("\n"))
        return [drawtext_filter(element, letters.font, text_file(drawn, 0), size, **options)]
    pad = element.background_padding
    width, height = block
    left = {"left": f"{pad:g}", "center": f"(W-{width:.2f})/2", "right": f"W-{width:.2f}-{pad:g}"}[
        element.align
    ]
    top = {"top": f"{pad:g}", "center": f"(H-{height:.2f})/2", "bottom": f"H-{height:.2f}-{pad:g}"}[
        element.vertical_align
    ]
    filters: list[Filter] = []
    if element.background_color:
        filters.append(
            f("drawbox", x=_in_drawbox(left) + f"-{pad:g}", y=_in_drawbox(top) + f"-{pad:g}",
              w=f"{width + 2 * pad:.2f}", h=f"{height + 2 * pad:.2f}", t="fill", replace=1,
              color=ffmpeg_color(element.background_color), **options)
        )  # fmt: skip
    step = letters.line_height(size) + element.line_spacing
    for row, line in enumerate(text.split("\n")):
        pieces = letters.runs(line)
        spare = width - sum(text_width(r.text, r.font.metrics, size) for r in pieces)
        x = {"left": 0.0, "center": spare / 2, "right": spare}[element.align]
        baseline = letters.ascent(size) + row * step
        for run in reversed(pieces) if right_to_left(line) else pieces:
            if run.text.strip():
                placed = _drawn(element, run.font, text_file(drawn_line(run.text), len(filters)), size)
                placed |= {"x": f"{left}+{x:.2f}", "y": f"{top}+{baseline:.2f}", "y_align": "baseline"}
                filters.append(f("drawtext", **placed, **options))
            x += text_width(run.text, run.font.metrics, size)
    return filters


def _in_drawbox(expression: str) -> str:
    """A position written with drawtext's names for the canvas size (W, H) in drawbox's."""
    return expression.replace("W", "iw").replace("H", "ih")


def drawtext_filter(
    element: TextElement, font: Font, text_file: Path, size: float, **options: object
) -> Filter:
    """drawtext drawing the (already wrapped) text of `text_file` inside a box-sized canvas."""
    pad = element.background_padding
    x = {"left": f"{pad:g}", "center": "(w-text_w)/2", "right": f"w-text_w-{pad:g}"}[element.align]
    y = {"top": f"{pad:g}", "center": "(h-text_h)/2", "bottom": f"h-text_h-{pad:g}"}[element.vertical_align]
    drawn = _drawn(element, font, text_file, size)
    drawn |= {
        "line_spacing": f"{element.line_spacing:g}",
        "text_align": element.align[0].upper(),
        "x": x,
        "y": y,
    }
    if element.background_color:
        drawn |= {"box": 1, "boxcolor": ffmpeg_color(element.background_color), "boxborderw": f"{pad:g}"}
    return f("drawtext", **drawn, **options)


def _drawn(element: TextElement, font: Font, text_file: Path, size: float) -> dict[str, object]:
    """drawtext's font, text, size, colour, stroke and shadow options for the element."""
    drawn: dict[str, object] = {"fontfile": str(font.file)} if font.file else {"font": font.family or ""}
    drawn |= {
        "textfile": str(text_file),
        "expansion": "none",
        "fontsize": f"{size:.2f}",
        "fontcolor": ffmpeg_color(element.color or "#ffffff"),
    }
    if element.stroke and element.stroke.width > 0:
        drawn |= {"borderw": f"{element.stroke.width:g}", "bordercolor": ffmpeg_color(element.stroke.color)}
    if element.shadow:
        shadow = element.shadow
        drawn |= {
            "shadowx": f"{shadow.x:g}",
            "shadowy": f"{shadow.y:g}",
            "shadowcolor": ffmpeg_color(shadow.color),
        }
    return drawn
