"""Fonts for the world's scripts, and which font draws which characters of a text.

drawtext draws with one font per filter and has no fallback of its own: a character its font
lacks is drawn as an empty box. So a text is cut into runs, each of characters one font has:
the element's own font first, then the bundled Noto fonts (PyPI packages `manimgx-fonts` and
`manimgx-fonts-cjk`, SIL OFL): Noto Sans, the Noto Sans of Arabic, Hebrew, the Indic and
South-East Asian scripts, Symbols, Noto Emoji (monochrome outlines, which drawtext can draw) and
Noto Sans CJK. Spaces, punctuation and combining marks stay in the run they follow when its font
has them, so an Arabic sentence is one run that HarfBuzz shapes and FriBidi orders as a whole.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import manimgx_fonts
import manimgx_fonts_cjk
from fontTools.ttLib import TTFont

_NOTO = Path(manimgx_fonts.__file__).parent
_SCRIPTS = sorted(
    p
    for p in _NOTO.glob("NotoSans*.ttf")
    if not p.name.startswith(("NotoSans[", "NotoSans-", "NotoSansSymbols"))
)
FALLBACK_FONTS: tuple[Path, ...] = (
    _NOTO / "NotoSans[wght].ttf",
    *_SCRIPTS,
    _NOTO / "NotoSansSymbols[wght].ttf",
    _NOTO / "NotoEmoji[wght].ttf",
    Path(manimgx_fonts_cjk.__file__).parent / "NotoSansCJK-VF.otf.ttc",  # face 0, Japanese glyph forms
)
EMOJI_FONT = _NOTO / "NotoEmoji[wght].ttf"
_EMOJI_STYLE = "\ufe0f"  # after a symbol, asks for its emoji form
_RTL = frozenset({"R", "AL"})


def font_key(index: int) -> int:
    """Where a subtitles element's font file is in a job's sources (its own index is its cues
    file's): a negative number, which no element's index is."""
    return -1 - index


@dataclass(frozen=True)
class Font:
    """The file drawtext renders with, or a fontconfig family; `metrics` is used for wrapping."""

    file: Path | None
    family: str | None
    metrics: Path


@dataclass(frozen=True)
class Run:
    font: Font
    text: str


@lru_cache(maxsize=32)
def charset(font_path: Path) -> frozenset[int]:
    """The code points a font has glyphs for."""
    return frozenset((TTFont(str(font_path), lazy=True, fontNumber=0).getBestCmap() or {}).keys())


def _joins(ch: str) -> bool:
    """Marks, joiners, variation selectors and skin tones: never split from what they follow."""
    return (
        unicodedata.category(ch)[0] == "M"
        or ch == "\u200d"
        or "\ufe00" <= ch <= "\ufe0f"
        or "\U0001f3fb" <= ch <= "\U0001f3ff"
    )


def _neutral(ch: str) -> bool:
    """Spaces and punctuation: kept in the run they follow when its font has them."""
    return unicodedata.category(ch)[0] in "ZP"


def _sticks(ch: str, run: Run) -> bool:
    """Whether `ch` joins `run`; Noto Emoji's space is an emoji's width, so spaces leave it."""
    neutral = _neutral(ch) and run.font.metrics != EMOJI_FONT
    return _joins(ch) or (neutral and ord(ch) in charset(run.font.metrics))


def _font_for(ch: str, following: str, primary: Font) -> Font:
    wanted = ord(ch)
    if following == _EMOJI_STYLE and wanted in charset(EMOJI_FONT):
        return Font(EMOJI_FONT, None, EMOJI_FONT)
    if wanted in charset(primary.metrics):
        return primary
    for path in FALLBACK_FONTS:
        if wanted in charset(path):
            return Font(path, None, path)
    return primary


def runs(text: str, primary: Font) -> list[Run]:
    """`text` (one line) cut where the font that has its characters changes, in logical order."""
    found: list[Run] = []
    for n, ch in enumerate(text):
        current = found[-1] if found else None
        if current is not None and _sticks(ch, current):
            found[-1] = Run(current.font, current.text + ch)
            continue
        font = _font_for(ch, text[n + 1 : n + 2], primary)
        if current is not None and current.font == font:
            found[-1] = Run(font, current.text + ch)
        else:
            found.append(Run(font, ch))
    return found


def right_to_left(text: str) -> bool:
    """The line's direction, from its first strongly directional character (as FriBidi does)."""
    for ch in text:
        direction = unicodedata.bidirectional(ch)
        if direction == "L":
            return False
        if direction in _RTL:
            return True
    return False


def clusters(word: str) -> Iterator[str]:
    """A word's characters with the marks, joiners and selectors that go with them: where a
    word too wide for its line may be broken."""
    cluster = ""
    for ch in word:
        if cluster and (_joins(ch) or cluster.endswith("\u200d")):
            cluster += ch
            continue
        if cluster:
            yield cluster
        cluster = ch
    if cluster:
        yield cluster


def one_font(text: str, primary: Font) -> Font | None:
    """`primary` when it has every character of `text`, else the first bundled font that has them
    all (Chinese with Latin words: Noto Sans CJK), or None when no one font has them."""
    needed = {ord(ch) for ch in text if not (_joins(ch) or ch.isspace() or unicodedata.category(ch) == "Cc")}
    if needed <= charset(primary.metrics):
        return primary
    for path in FALLBACK_FONTS:
        if needed <= charset(path):
            return Font(path, None, path)
    return None
