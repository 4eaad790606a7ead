"""Text in any script: which bundled font draws which characters, wrapping without spaces, and
font_size "auto" refused at the door unless it has a box to fit and sensible limits."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from media.fonts import EMOJI_FONT, FALLBACK_FONTS, Font, charset, one_font, right_to_left, runs
from media.text import DEFAULT_FONT, lettering, text_width, wrap_text
from schemas.spec import VideoSpec

ROBOTO = Font(DEFAULT_FONT, None, DEFAULT_FONT)


def _names(text: str) -> list[tuple[str, str]]:
    return [(run.font.metrics.name.split("[")[0].split("-")[0], run.text) for run in runs(text, ROBOTO)]


def test_every_script_of_the_issue_has_a_bundled_font() -> None:
    for ch in "مשא中あ한😀":
        assert any(ord(ch) in charset(path) for path in FALLBACK_FONTS), ch


def test_one_font_is_used_when_one_has_every_character() -> None:
    assert one_font("Hello", ROBOTO) == ROBOTO
    assert one_font("مرحبا بالعالم.", ROBOTO).metrics.name.startswith("NotoSansArabic")  # type: ignore[union-attr]
    assert one_font("中文 and English", ROBOTO).metrics.name.startswith("NotoSansCJK")  # type: ignore[union-attr]
    assert one_font("😀❤️👩‍👩‍👧", ROBOTO).metrics == EMOJI_FONT  # type: ignore[union-attr]
    assert one_font("Sale 🔥", ROBOTO) is None


def test_runs_keep_spaces_and_joiners_with_their_script_but_not_with_emoji() -> None:
    assert _names("Sale 🔥 now") == [("Roboto", "Sale "), ("NotoEmoji", "🔥"), ("Roboto", " now")]
    assert _names("مرحبا بالعالم، Hi") == [("NotoSansArabic", "مرحبا بالعالم، "), ("Roboto", "Hi")]
    assert _names("a👩‍👩‍👧👍🏽") == [("Roboto", "a"), ("NotoEmoji", "👩‍👩‍👧👍🏽")]
    assert _names("I ❤️") == [("Roboto", "I "), ("NotoEmoji", "❤️")]  # the emoji form asked for


def test_direction_is_the_first_strong_characters() -> None:
    assert right_to_left("2024 שלום world") and right_to_left("مرحبا Hello")
    assert not right_to_left("Hello مرحبا") and not right_to_left("123")


def test_cjk_wraps_between_characters_and_latin_at_spaces() -> None:
    font = one_font("日本語のテキスト", ROBOTO)
    assert font is not None
    wrapped = wrap_text("日本語のテキストは長い", lambda line: text_width(line, font.metrics, 20), 70)
    lines = wrapped.split("\n")
    assert len(lines) > 1 and "".join(lines) == "日本語のテキストは長い"
    assert all(text_width(line, font.metrics, 20) <= 70 for line in lines)
    latin = wrap_text("one two three", lambda line: text_width(line, DEFAULT_FONT, 20), 80).split("\n")
    assert latin == ["one two", "three"]


def test_arabic_is_measured_joined() -> None:
    """Shaped widths: the joined word is narrower than its isolated letters."""
    arabic = one_font("مرحبا", ROBOTO)
    assert arabic is not None
    joined = text_width("مرحبا", arabic.metrics, 40)
    assert joined < sum(text_width(ch, arabic.metrics, 40) for ch in "مرحبا") - 10


def test_mixed_lines_are_as_tall_as_their_tallest_font() -> None:
    mixed = lettering("Hi مرحبا", ROBOTO)
    assert not mixed.single and mixed.line_height(40) > lettering("Hi", ROBOTO).line_height(40)


def _errors(**text: Any) -> dict[str, tuple[str, str]]:
    element = {"type": "text", "text": "t", **text}
    with pytest.raises(ValidationError) as caught:
        VideoSpec.model_validate({"width": 320, "height": 240, "elements": [element]})
    return {".".join(str(p) for p in e["loc"]): (e["type"], e["msg"]) for e in caught.value.errors()}


@pytest.mark.parametrize(
    ("fields", "path", "code", "hint"),
    [
        ({"font_size": "auto", "width": 100}, "elements.0.font_size", "font_size_box", "width and height"),
        ({"font_size": 30, "min_font_size": 10}, "elements.0.min_font_size", "font_size_auto", "'auto'"),
        ({"max_font_size": 10}, "elements.0.max_font_size", "font_size_auto", "'auto'"),
        (
            {"font_size": "auto", "width": 9, "height": 9, "min_font_size": 40, "max_font_size": "30px"},
            "elements.0.min_font_size",
            "font_size_range",
            "larger",
        ),
        (
            {"font_size": "auto", "width": 9, "height": 9, "min_font_size": "big"},
            "elements.0.min_font_size",
            "value_error",
            "not a font size",
        ),
        ({"font_size": "biggest"}, "elements.0.font_size", "value_error", "'auto'"),
    ],
)
def test_auto_font_size_is_refused_at_its_path(
    fields: dict[str, Any], path: str, code: str, hint: str
) -> None:
    errors = _errors(**fields)
    assert path in errors and errors[path][0] == code and hint in errors[path][1], errors


def test_auto_font_size_with_limits_in_other_units_is_accepted() -> None:
    element = {"type": "text", "text": "t", "width": 200, "height": 100, "font_size": "AUTO"}
    element |= {"min_font_size": "2vmin", "max_font_size": 30}
    spec = VideoSpec.model_validate({"width": 320, "height": 240, "elements": [element]})
    assert spec.elements[0].font_size == "auto"  # type: ignore[union-attr]


def test_subtitles_take_a_font_file_url_but_not_auto() -> None:
    subtitles = {"type": "subtitles", "cues": [{"start": 0, "end": 1, "text": "Hi"}]}
    VideoSpec.model_validate(
        {"width": 320, "height": 240, "elements": [{**subtitles, "font_family": "https://x.test/f.woff2"}]}
    )
    with pytest.raises(ValidationError) as caught:
        VideoSpec.model_validate(
            {"width": 320, "height": 240, "elements": [{**subtitles, "font_size": "auto"}]}
        )
    assert caught.value.errors()[0]["loc"] == ("elements", 0, "font_size")
