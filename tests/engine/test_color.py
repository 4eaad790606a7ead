"""Colour presets: each moves sampled pixels the way its name says, in the render's one pass."""

from __future__ import annotations

from typing import get_args

import pytest

from media.color import COLOR_PRESETS
from schemas.spec import ColorPreset
from tests.engine.conftest import Media, Renderer, frame_at, pixel

Pixel = tuple[int, int, int]
# three 40 px wide swatches: mid grey, a desaturated blue, black
GREY, BLUE, BLACK = (20, 24), (60, 24), (100, 24)


def _swatches(preset: str | None) -> dict[str, object]:
    def swatch(x: int, color: str) -> dict[str, object]:
        return {"type": "color", "color": color, "x": x, "y": 0, "width": 40, "height": 48}

    elements = [swatch(0, "#808080"), swatch(40, "#3060c0"), swatch(80, "#000000")]
    return {
        "width": 120,
        "height": 48,
        "fps": 10,
        "duration": 0.5,
        "color_preset": preset,
        "elements": elements,
    }


def _sample(render: Renderer, preset: str | None) -> dict[str, Pixel]:
    frame = frame_at(render(_swatches(preset)).path, 0.2)
    return {name: pixel(frame, *at) for name, at in (("grey", GREY), ("blue", BLUE), ("black", BLACK))}


def _spread(color: Pixel) -> int:
    """How coloured a pixel is: its highest channel minus its lowest."""
    return max(color) - min(color)


@pytest.fixture
def plain(render: Renderer) -> dict[str, Pixel]:
    """The swatches rendered without a preset, to compare against."""
    return _sample(render, None)


def test_every_preset_has_a_chain() -> None:
    assert set(COLOR_PRESETS) == set(get_args(ColorPreset))


def test_warm_raises_red_against_blue(render: Renderer, plain: dict[str, Pixel]) -> None:
    graded = _sample(render, "warm")
    r, _, b = graded["grey"]
    assert r - b >= 15 and plain["grey"][0] - plain["grey"][2] <= 3
    assert graded["blue"][0] > plain["blue"][0] and graded["blue"][2] < plain["blue"][2]


def test_cool_raises_blue_against_red(render: Renderer, plain: dict[str, Pixel]) -> None:
    graded = _sample(render, "cool")
    r, _, b = graded["grey"]
    assert b - r >= 15
    assert graded["blue"][2] > plain["blue"][2] and graded["blue"][0] < plain["blue"][0]


def test_vivid_saturates(render: Renderer, plain: dict[str, Pixel]) -> None:
    graded = _sample(render, "vivid")
    assert _spread(graded["blue"]) >= _spread(plain["blue"]) + 30
    assert _spread(graded["grey"]) <= 6  # a grey stays grey


def test_muted_desaturates(render: Renderer, plain: dict[str, Pixel]) -> None:
    graded = _sample(render, "muted")
    assert _spread(graded["blue"]) <= _spread(plain["blue"]) - 30
    assert _spread(graded["grey"]) <= 6


def test_bw_leaves_no_colour(render: Renderer, plain: dict[str, Pixel]) -> None:
    graded = _sample(render, "bw")
    assert _spread(plain["blue"]) > 100
    assert _spread(graded["blue"]) <= 6 and _spread(graded["grey"]) <= 6


def test_vintage_fades_blacks_and_yellows(render: Renderer, plain: dict[str, Pixel]) -> None:
    graded = _sample(render, "vintage")
    assert sum(graded["black"]) >= sum(plain["black"]) + 30  # faded blacks
    assert graded["grey"][0] - graded["grey"][2] >= 15  # warmer midtones
    assert _spread(graded["blue"]) <= _spread(plain["blue"]) - 30


def test_preset_applies_to_video_sources(media: Media, render: Renderer) -> None:
    """A one-clip spec that would be stream-copied is graded instead (one pass, re-encoded)."""
    source = media.video("gray", seconds=1, size="320x240")
    spec = {"width": 320, "height": 240, "fps": 25, "elements": [{"type": "video", "source": "v"}]}
    out = render({**spec, "color_preset": "warm"}, {0: source})
    r, _, b = pixel(frame_at(out.path, 0.5), 160, 120)
    assert r - b >= 15
