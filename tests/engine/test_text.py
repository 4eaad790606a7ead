"""Text: drawn inside its box only, wrapped, aligned, and verbatim whatever the characters."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest

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
        {0: DEFAULT_FONT},
    )
    assert _changed(frame_at(out.path, 0.5), 0, 0, 320, 240) > 100


def test_unreadable_font_fails_naming_the_element(render: Renderer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font")
    with pytest.raises(JobError) as err:
        render(
            _spec({"id": "title", "type": "text", "text": "x", "font_family": "https://f/bad.ttf"}), {0: bad}
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
    out = asyncio.run(render_video(spec, {0: Path(font)}, odd / "out.mp4", settings=SETTINGS))
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
