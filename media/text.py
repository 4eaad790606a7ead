"""Text elements: font choice, line wrapping and the drawtext filter.

User text never enters the filter graph: it is written verbatim to a file that drawtext reads
with `expansion=none`, so quotes, colons, backslashes, `%` and newlines are just characters.
Every other user string placed in the graph (a fontconfig family name) is an option value the
node graph escapes. Wrapping and measuring are done here with the font's metrics because
drawtext does not wrap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import font_roboto
from fontTools.ttLib import TTFont

from media.graph import Filter, f
from schemas.elements import SubtitlesElement, TextElement

DEFAULT_FONT = Path(font_roboto.font_files["Roboto"])
BUNDLED_FONTS: dict[str, Path] = {
    re.sub(r"(?<!^)([A-Z])", r" \1", name).lower(): Path(path)
    for name, path in font_roboto.font_files.items()
}  # "roboto", "roboto bold", "roboto bold italic", ...


def ffmpeg_color(color: str) -> str:
    """'#rrggbb[aa]' (validated by the schema) in FFmpeg's 0xRRGGBB[AA] form."""
    return "0x" + color.removeprefix("#").upper()


@dataclass(frozen=True)
class Font:
    """The file drawtext renders with, or a fontconfig family; `metrics` is used for wrapping."""

    file: Path | None
    family: str | None
    metrics: Path


def choose_font(element: TextElement | SubtitlesElement, font_file: Path | None) -> Font:
    if font_file is not None:
        return Font(file=font_file, family=None, metrics=font_file)
    family = (element.font_family or "Roboto").strip()
    bundled = BUNDLED_FONTS.get(family.lower()) or BUNDLED_FONTS.get(f"roboto {family.lower()}")
    if bundled is not None:
        return Font(file=bundled, family=None, metrics=bundled)
    return Font(file=None, family=family, metrics=DEFAULT_FONT)


@lru_cache(maxsize=16)
def _advances(font_path: Path) -> tuple[dict[int, int], int, int, int]:
    """Code point -> advance width, the fallback advance, units per em and line height of a font."""
    font = TTFont(str(font_path), lazy=True, fontNumber=0)
    cmap = font.getBestCmap() or {}
    hmtx = font["hmtx"].metrics
    advances = {code: hmtx[glyph][0] for code, glyph in cmap.items() if glyph in hmtx}
    fallback = hmtx[font.getGlyphOrder()[0]][0]
    line = font["hhea"].ascent - font["hhea"].descent
    return advances, fallback, font["head"].unitsPerEm, line


def text_block(text: str, font_path: Path, size: float, line_spacing: float) -> tuple[float, float]:
    """Width and height of wrapped text as drawtext lays it out (lines of the font's height)."""
    lines = text.split("\n")
    width = max(text_width(row, font_path, size) for row in lines)
    return width, len(lines) * line_height(font_path, size) + (len(lines) - 1) * line_spacing


def line_height(font_path: Path, size: float) -> float:
    """Pixels from one line's top to the next's: the font's ascent to descent."""
    _, _, units, line = _advances(font_path)
    return line * size / units


def text_width(text: str, font_path: Path, size: float) -> float:
    advances, fallback, units, _ = _advances(font_path)
    return sum(advances.get(ord(ch), fallback) for ch in text) * size / units


def wrap_text(text: str, font_path: Path, size: float, max_width: float) -> str:
    """Greedy word wrap to `max_width` pixels; explicit newlines are kept, long words are split."""
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if text_width(candidate, font_path, size) <= max_width or (not line and not word):
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for ch in word:  # a word wider than the box breaks anywhere
                if line and text_width(line + ch, font_path, size) > max_width:
                    lines.append(line)
                    line = ""
                line += ch
        lines.append(line)
    return "\n".join(lines)


def drawtext_filter(
    element: TextElement, font: Font, text_file: Path, size: float, **options: object
) -> Filter:
    """drawtext drawing the (already wrapped) text of `text_file` inside a box-sized canvas."""
    pad = element.background_padding
    x = {"left": f"{pad:g}", "center": "(w-text_w)/2", "right": f"w-text_w-{pad:g}"}[element.align]
    y = {"top": f"{pad:g}", "center": "(h-text_h)/2", "bottom": f"h-text_h-{pad:g}"}[element.vertical_align]
    drawn: dict[str, object] = {"fontfile": str(font.file)} if font.file else {"font": font.family or ""}
    drawn |= {
        "textfile": str(text_file),
        "expansion": "none",
        "fontsize": f"{size:.2f}",
        "fontcolor": ffmpeg_color(element.color or "#ffffff"),
        "line_spacing": f"{element.line_spacing:g}",
        "text_align": element.align[0].upper(),
        "x": x,
        "y": y,
    }
    if element.background_color:
        drawn |= {"box": 1, "boxcolor": ffmpeg_color(element.background_color), "boxborderw": f"{pad:g}"}
    if element.stroke and element.stroke.width > 0:
        drawn |= {"borderw": f"{element.stroke.width:g}", "bordercolor": ffmpeg_color(element.stroke.color)}
    if element.shadow:
        shadow = element.shadow
        drawn |= {
            "shadowx": f"{shadow.x:g}",
            "shadowy": f"{shadow.y:g}",
            "shadowcolor": ffmpeg_color(shadow.color),
        }
    return f("drawtext", **drawn, **options)
