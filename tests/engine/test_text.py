"""Text: drawn inside its box only, wrapped, aligned, and verbatim whatever the characters."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from media.fonts import font_key
from media.render import render_video
from media.text import DEFAULT_FONT
from schemas.errors import JobError
from schemas.spec import VideoSpec
from tests.engine.conftest import SETTINGS, Renderer, frame_at

NASTY = "It's 100% \"quoted\": C:\\path\\n [a],b;c {x} %{pts} $(rm -rf) '\\'\nsecond line"


def _spec(*elements: dict, **output: object) -> dict:
    return {"width": 320, "height": 240, "fps": 10, "duration": 1, **output, "elements": list(elements)}


def _changed(frame: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> int:
    """Pixels in the rectangle that are not the black background."""
    return int((frame[y0:y1, x0:x1].max(axis=2) > 40).sum())


def test_text_drawn_inside_its_box_only(render: Renderer) -> None:
    box = {"x": 40, "y": 60, "width": 240, "height": 100}
    out = render(
        _spec({"type": "text", "text": "Hello world, this wraps", "font_size": 32, "color": "#ffffff", **box})
    )
    frame = frame_at(out.path, 0.5)
    assert _changed(frame, 40, 60, 280, 160) > 300
    outside = _changed(frame, 0, 0, 320, 58) + _changed(frame, 0, 162, 320, 240)
    outside += _changed(frame, 0, 0, 38, 240) + _changed(frame, 282, 0, 320, 240)
    assert outside == 0


def test_hostile_characters_render_verbatim(render: Renderer) -> None:
    out = render(_spec({"type": "text", "text": NASTY, "font_size": 14, "color": "#ffffff"}))
    assert _changed(frame_at(out.path, 0.5), 0, 0, 320, 240) > 200


def test_alignment_background_stroke_and_shadow(render: Renderer) -> None:
    common = {
        "type": "text",
        "text": "Hi",
        "font_size": 40,
        "color": "#ffffff",
        "width": 300,
        "height": 60,
        "x": 10,
    }
    out = render(
        _spec(
            {**common, "y": 0, "align": "left"},
            {
                **common,
                "y": 90,
                "align": "right",
                "stroke": {"color": "#ff0000", "width": 3},
                "shadow": {"color": "#00ff00", "x": 4, "y": 4},
            },
            {**common, "y": 170, "background_color": "#0000ff", "background_padding": 8},
        )
    )
    frame = frame_at(out.path, 0.5)
    assert _changed(frame, 10, 0, 110, 60) > 50 and _changed(frame, 210, 0, 310, 60) == 0
    assert _changed(frame, 210, 90, 310, 150) > 50 and _changed(frame, 10, 90, 110, 150) == 0
    reds = (frame[90:150, 200:310, 0] > 150) & (frame[90:150, 200:310, 1] < 80)
    assert reds.sum() > 20  # the stroke
    blue = (frame[170:230, 10:310, 2] > 150) & (frame[170:230, 10:310, 0] < 80)
    assert blue.sum() > 500  # the background box, centered


def test_vertical_alignment_places_the_text_at_the_top_or_bottom_of_its_box(render: Renderer) -> None:
    common = {"type": "text", "text": "Hi", "font_size": 30, "color": "#ffffff", "x": 0, "width": 320}
    out = render(
        _spec({**common, "y": 0, "height": 120, "vertical_align": "top"}, {**common, "y": 120, "height": 120})
    )
    frame = frame_at(out.path, 0.5)
    assert _changed(frame, 0, 0, 320, 45) > 50 and _changed(frame, 0, 45, 320, 120) == 0, "top"
    assert _changed(frame, 0, 160, 320, 200) > 50, "centered by default"
    assert _changed(frame, 0, 120, 320, 155) + _changed(frame, 0, 205, 320, 240) == 0


def test_font_file_source_and_units(render: Renderer) -> None:
    out = render(
        _spec({"type": "text", "text": "Font", "font_family": "https://fonts/x.ttf", "font_size": "10vmin"}),
        {font_key(0): DEFAULT_FONT},
    )
    assert _changed(frame_at(out.path, 0.5), 0, 0, 320, 240) > 100


def test_unreadable_font_fails_naming_the_element(render: Renderer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font")
    with pytest.raises(JobError) as err:
        render(
            _spec({"id": "title", "type": "text", "text": "x", "font_family": "https://f/bad.ttf"}),
            {font_key(0): bad},
        )
    assert err.value.code == "INVALID_INPUT" and "title" in err.value.message


@pytest.mark.parametrize("family", ["Roboto Bold", "A Family Nobody Has: 'x'"])
def test_font_family_names_resolve_or_fall_back(render: Renderer, family: str) -> None:
    out = render(_spec({"type": "text", "text": "Grüße Привет", "font_family": family, "font_size": 40}))
    assert _changed(frame_at(out.path, 0.5), 0, 0, 320, 240) > 100


def test_paths_with_filtergraph_characters(tmp_path: Path) -> None:
    """Text and font files live in directories whose names would break an unescaped graph."""
    odd = tmp_path / "we'ird: dir,[x];y\\z"
    odd.mkdir()
    font = shutil.copy(DEFAULT_FONT, odd / "f'o:n,t.ttf")
    spec = VideoSpec.model_validate(
        _spec({"type": "text", "text": "odd", "font_family": "https://f/x.ttf", "font_size": 40})
    )
    out = asyncio.run(render_video(spec, {font_key(0): Path(font)}, odd / "out.mp4", settings=SETTINGS))
    assert _changed(frame_at(out.path, 0.5), 0, 0, 320, 240) > 100


@pytest.mark.parametrize("align", ["left", "center", "right"])
def test_each_line_is_aligned(render: Renderer, align: str) -> None:
    text = {"type": "text", "text": "ab\nlong line here", "align": align, "font_size": 30, "color": "#ffffff"}
    out = render(_spec(text, output_format="png", height=120))
    ink = frame_at(out.path, 0).max(axis=2) > 100
    rows = np.where(ink.any(axis=1))[0]
    middle = (rows.min() + rows.max()) // 2
    first, second = (np.where(part.any(axis=0))[0] for part in (ink[:middle], ink[middle:]))
    edge = {
        "left": lambda c: c.min(),
        "right": lambda c: c.max(),
        "center": lambda c: (c.min() + c.max()) / 2,
    }
    assert abs(edge[align](first) - edge[align](second)) <= 3


def _ink(frame: np.ndarray, threshold: int = 100) -> np.ndarray:
    return frame.max(axis=2) > threshold


def _spans(mask: npt.ArrayLike, gap: int = 1) -> list[tuple[int, int]]:
    """Runs of True indices less than `gap` apart: [first, last] of each."""
    found: list[tuple[int, int]] = []
    for i in np.where(mask)[0]:
        if found and i <= found[-1][1] + gap:
            found[-1] = (found[-1][0], int(i))
        else:
            found.append((int(i), int(i)))
    return found


def test_auto_font_size_fits_a_long_value_in_its_box_and_grows_a_short_one(render: Renderer) -> None:
    box = {"type": "text", "font_size": "auto", "width": 200, "height": 80, "x": 60, "color": "#ffffff"}
    long = "A merge value far longer than the designer planned for, which must still fit inside the box"
    out = render(_spec({**box, "y": 20, "text": long}, {**box, "y": 140, "text": "Hi", "max_font_size": 60}))
    ink = _ink(frame_at(out.path, 0.5))
    assert ink[20:100, 60:260].sum() > 300
    outside = ink.copy()
    outside[20:100, 60:260] = False
    outside[140:220, 60:260] = False
    assert not outside.any(), "no text pixels outside the boxes"
    rows = _spans(ink[20:100, 60:260].any(axis=1))
    assert len(rows) >= 3 and rows[0][0] > 0 and rows[-1][1] < 79, "wrapped, and not cut at the box's edges"
    long_height = rows[0][1] - rows[0][0]
    short = _spans(ink[140:220, 60:260].any(axis=1))
    assert len(short) == 1 and short[0][1] - short[0][0] > 2 * long_height, "the short value is drawn larger"


def test_auto_font_size_that_cannot_fit_is_drawn_at_its_minimum_and_cut_at_the_box(render: Renderer) -> None:
    text = {
        "type": "text",
        "text": "word " * 60,
        "font_size": "auto",
        "min_font_size": 20,
        "color": "#ffffff",
    }
    out = render(_spec({**text, "x": 100, "y": 100, "width": 120, "height": 40}))
    ink = _ink(frame_at(out.path, 0.5))
    assert ink[100:140, 100:220].sum() > 200
    ink[100:140, 100:220] = False
    assert not ink.any()


def test_arabic_letters_are_joined(render: Renderer) -> None:
    common = {"type": "text", "font_size": 60, "color": "#ffffff", "x": 0, "width": 320, "height": 120}
    out = render(_spec({**common, "y": 0, "text": "سسس"}, {**common, "y": 120, "text": "س س س"}))
    ink = _ink(frame_at(out.path, 0.5))
    joined, apart = (_spans(ink[rows].any(axis=0)) for rows in (slice(0, 120), slice(120, 240)))
    assert len(joined) == 1 and len(apart) == 3, (joined, apart)
    assert joined[0][1] - joined[0][0] < apart[-1][1] - apart[0][0]


def test_hebrew_reads_right_to_left_also_beside_digits_from_another_font(render: Renderer) -> None:
    common = {"type": "text", "font_size": 40, "color": "#ffffff", "x": 0, "width": 320, "height": 120}
    out = render(_spec({**common, "y": 0, "text": "א בבבבבב"}, {**common, "y": 120, "text": "א 20242024"}))
    ink = _ink(frame_at(out.path, 0.5))
    for rows in (slice(0, 120), slice(120, 240)):
        words = _spans(ink[rows].any(axis=0), gap=10)  # letters 5 px apart, words 15
        assert len(words) == 2
        assert words[1][1] - words[1][0] < (words[0][1] - words[0][0]) / 2, (
            "the one-letter word is on the right"
        )


def test_cjk_wraps_inside_a_narrow_box(render: Renderer) -> None:
    text = "日本語のテキストは空白なしで折り返されます"
    out = render(
        _spec({"type": "text", "text": text, "font_size": 24, "x": 100, "y": 20, "width": 120, "height": 200})
    )
    ink = _ink(frame_at(out.path, 0.5))
    assert len(_spans(ink[20:220, 100:220].any(axis=1))) >= 4
    ink[20:220, 100:220] = False
    assert not ink.any()


def test_an_emoji_is_a_glyph_not_a_box(render: Renderer) -> None:
    common = {
        "type": "text",
        "font_size": 80,
        "color": "#ffffff",
        "x": 0,
        "width": 160,
        "height": 120,
        "y": 0,
    }
    out = render(
        _spec({**common, "text": "😀"}, {**common, "x": 160, "text": "\ue000"})
    )  # no font has U+E000
    ink = _ink(frame_at(out.path, 0.5))

    def box_like(mask: np.ndarray) -> bool:
        """Ink in all four corners of its own bounding box: a rectangle, not a round face."""
        rows, cols = np.where(mask)
        top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
        corners = [
            mask[y - 2 : y + 3, x - 2 : x + 3] for y in (top + 2, bottom - 2) for x in (left + 2, right - 2)
        ]
        return all(corner.any() for corner in corners)

    assert box_like(ink[:, 160:]), "U+E000, which no font has, is the box"
    assert ink[:, :160].sum() > 500 and not box_like(ink[:, :160])


def test_latin_with_emoji_draws_both_in_one_line(render: Renderer) -> None:
    out = render(_spec({"type": "text", "text": "Hi 😀 there", "font_size": 40, "color": "#ffffff"}))
    ink = _ink(frame_at(out.path, 0.5))
    rows = _spans(ink.any(axis=1))
    assert len(rows) == 1 and len(_spans(ink.any(axis=0))) >= 4  # H, i, the emoji, "there": one line
