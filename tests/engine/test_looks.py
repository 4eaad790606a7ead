"""Looks: colour filters, presets per element, chroma key and crop, checked on sampled pixels."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.errors import ErrorCode, JobError
from tests.engine.conftest import Media, Renderer, frame_at, lavfi, make, near, pixel

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def _spec(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"width": 160, "height": 120, "fps": 10, "duration": 1, "elements": list(elements)}


def _look(render: Renderer, color: str, **look: Any) -> tuple[int, int, int]:
    out = render(_spec({"type": "color", "color": color, **look}))
    return pixel(frame_at(out.path, 0.5), 80, 60)


def test_greyscale_makes_red_grey_and_invert_makes_it_cyan(render: Renderer) -> None:
    r, g, b = _look(render, "#ff0000", filters=[{"type": "greyscale"}])
    assert max(r, g, b) - min(r, g, b) < 12 and 40 < r < 140
    r, g, b = _look(render, "#ff0000", filters=[{"type": "invert"}])
    assert r < 30 and g > 220 and b > 220


@pytest.mark.parametrize(
    ("look", "check"),
    [
        ({"type": "brightness", "value": 0.3}, lambda c: min(c) > 150),  # grey 128 brightened
        ({"type": "brightness", "value": -0.3}, lambda c: max(c) < 100),
        ({"type": "contrast", "value": 2}, lambda c: abs(c[0] - 128) < 30),  # mid grey stays mid
        ({"type": "saturation", "value": 0}, lambda c: max(c) - min(c) < 12),
        ({"type": "sepia"}, lambda c: c[0] > c[1] > c[2]),
        ({"type": "hue", "value": 180}, lambda c: True),
        ({"type": "vignette", "value": 1}, lambda c: True),
    ],
)
def test_each_filter_moves_colours_the_documented_way(
    render: Renderer, look: dict[str, Any], check: Any
) -> None:
    base = "#808080" if look["type"] in ("brightness", "contrast") else "#4080c0"
    colour = _look(render, base, filters=[look])
    assert check(colour), colour
    if look["type"] == "hue":  # blue-ish turns orange-ish
        assert colour[0] > colour[2]
    if look["type"] == "vignette":  # the corners darken, the centre does not
        out = render(_spec({"type": "color", "color": "#ffffff", "filters": [look]}))
        frame = frame_at(out.path, 0.5)
        assert sum(pixel(frame, 1, 1)) < sum(pixel(frame, 80, 60)) - 150


def test_brightness_contrast_and_saturation_apply_in_the_order_given(render: Renderer) -> None:
    """Neighbouring eq filters share one pass only where the order cannot tell: contrast then
    brightness keeps mid grey near mid plus the brightness, brightness then contrast doubles it."""
    contrast, brightness = {"type": "contrast", "value": 2}, {"type": "brightness", "value": 0.2}
    saturation = {"type": "saturation", "value": 0}
    first = _look(render, "#806040", filters=[contrast, brightness, saturation])
    second = _look(render, "#806040", filters=[brightness, contrast, saturation])
    assert max(first) - min(first) < 12 and max(second) - min(second) < 12, (first, second)
    assert second[1] - first[1] > 25, (first, second)


def test_blur_softens_an_edge_and_sharpen_keeps_it(media: Media, render: Renderer) -> None:
    split = media.split_png()  # red | blue
    blurred = frame_at(
        render(
            _spec({"type": "image", "source": "i", "filters": [{"type": "blur", "value": 20}]}), {0: split}
        ).path,
        0.5,
    )
    left, edge = pixel(blurred, 70, 60), pixel(blurred, 80, 60)
    assert near(pixel(blurred, 5, 60), RED, 60) and 40 < edge[0] < 220 and 40 < edge[2] < 220, (left, edge)


@pytest.mark.parametrize(
    ("preset", "check"),
    [
        ("warm", lambda c: c[0] > c[2] + 15),
        ("cool", lambda c: c[2] > c[0] + 15),
        ("bw", lambda c: max(c) - min(c) < 12),
        ("vivid", lambda c: c[2] - c[0] > 0x80 - 0x40 + 10),
        ("muted", lambda c: c[2] - c[0] < 0x80 - 0x40 - 10),
    ],
)
def test_element_color_presets(render: Renderer, preset: str, check: Any) -> None:
    base = "#808080" if preset in ("warm", "cool", "bw") else "#406080"
    background = {"type": "color", "color": "#000000"}
    graded = {"type": "color", "color": base, "width": 80, "color_preset": preset}
    frame = frame_at(render(_spec(background, graded)).path, 0.5)
    assert check(pixel(frame, 40, 60)), pixel(frame, 40, 60)
    assert near(pixel(frame, 140, 60), (0, 0, 0), 10)  # only the element is graded


def test_chroma_key_shows_what_is_below_and_keeps_the_subject(media: Media, render: Renderer) -> None:
    screen = make(
        media.path("green_screen.png"),
        *lavfi("color=c=0x00ff00:s=160x120,drawbox=x=60:y=40:w=40:h=40:color=red:t=fill"),
        "-frames:v",
        "1",
    )
    spec = _spec(
        {"type": "color", "color": "#0000ff"},
        {"type": "image", "source": "g", "chroma_key": {"color": "#00ff00"}},
    )
    frame = frame_at(render(spec, {1: screen}).path, 0.5)
    assert near(pixel(frame, 10, 10), BLUE, 40) and near(pixel(frame, 150, 110), BLUE, 40)
    assert near(pixel(frame, 80, 60), RED, 40)


def test_crop_shows_only_the_chosen_region(media: Media, render: Renderer) -> None:
    split = media.split_png()  # 200x100, red | blue
    spec = _spec(
        {
            "type": "image",
            "source": "i",
            "fit_mode": "fill",
            "crop": {"x": "50%", "width": "50%", "height": "100%"},
        }
    )
    frame = frame_at(render(spec, {0: split}).path, 0.5)
    assert near(pixel(frame, 5, 60), BLUE) and near(pixel(frame, 155, 60), BLUE)
    with pytest.raises(JobError) as caught:
        render(
            _spec({"type": "image", "source": "i", "crop": {"x": 500, "width": 10, "height": 10}}), {0: split}
        )
    assert caught.value.code == ErrorCode.INVALID_INPUT and "crop" in caught.value.message
