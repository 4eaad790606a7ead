"""The font families a text or subtitles element may name in `font_family`, with the scripts each
draws: the studio's font picker. Only the bundled fonts (media.text.FAMILIES): a fontconfig name
of the worker's system is allowed too but differs from host to host, so it is not offered.

A script counts as drawn when the font has every one of a few of its common letters; any font
still draws the others through the fallback fonts (media.fonts), just not in its own design.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from media.fonts import charset
from media.text import FAMILIES

SCRIPT_LETTERS: dict[str, str] = {
    "Latin": "AaZzÉéß",
    "Greek": "ΑαΩω",
    "Cyrillic": "АаЯяЖ",
    "Armenian": "Աաֆ",
    "Hebrew": "אבש",
    "Arabic": "ابيه",
    "Devanagari": "कखह",
    "Bengali": "কখহ",
    "Gurmukhi": "ਕਖਹ",
    "Gujarati": "કખહ",
    "Oriya": "କଖହ",
    "Tamil": "கஙஹ",
    "Telugu": "కఖహ",
    "Kannada": "ಕಖಹ",
    "Malayalam": "കഖഹ",
    "Sinhala": "කඛහ",
    "Thai": "กขฮ",
    "Lao": "ກຂຮ",
    "Myanmar": "ကခအ",
    "Georgian": "აბჰ",
    "Ethiopic": "ሀለፐ",
    "Khmer": "កខអ",
    "Han": "中文字",
    "Hiragana": "あいを",
    "Katakana": "アイヲ",
    "Hangul": "한글가",
    "Symbols": "⌀⎈①←",
    "Emoji": "\U0001f600\U0001f44d",
}


@dataclass(frozen=True)
class FontFamily:
    family: str
    scripts: tuple[str, ...]


@cache
def font_families() -> tuple[FontFamily, ...]:
    """Every bundled family, Roboto's first (the default), each with the scripts it has."""
    found = []
    for family, path in FAMILIES.items():
        has = charset(path)
        scripts = tuple(s for s, letters in SCRIPT_LETTERS.items() if all(ord(c) in has for c in letters))
        found.append(FontFamily(family, scripts))
    return tuple(found)
