"""Shapes and gradients on rendered pixels: round edges let the layer below show through, strokes
and lines are where they belong, gradients run the stated way."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tests.engine.conftest import Renderer, frame_at, near, pixel

RED, BLUE, WHITE, BLACK, GREEN = (255, 0, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0), (0, 255, 0)


def _still(*elements: dict[str, Any]) -> dict[str, Any]:
    """A PNG over a red layer, so transparency shows red."""
    below = {"type": "color", "color": "#ff0000", "track": 0}
    return {"width": 320, "height": 240, "output_format": "png", "elements": [below, *elements]}


def _shape(shape: str, **fields: Any) -> dict[str, Any]:
    return {"type": "shape", "shape": shape, "x": 40, "y": 40, "width": 200, "height": 120, **fields}


def _frame(render: Renderer, *elements: dict[str, Any]) -> np.ndarray:
    return frame_at(render(_still(*elements)).path, 0)


def test_an_ellipse_shows_the_layer_below_outside_it(render: Renderer) -> None:
    frame = _frame(render, _shape("ellipse", fill_color="#0000ff"))
    cx, cy, a, b = 140, 100, 100, 60
    for x, y in ((42, 42), (238, 42), (42, 158), (238, 158)):  # the box's corners
        assert near(pixel(frame, x, y), RED), (x, y)
    for deg in range(0, 360, 30):  # just inside and just outside the edge all round
        t = math.radians(deg)
        inside = (round(cx + (a - 4) * math.cos(t)), round(cy + (b - 4) * math.sin(t)))
        outside = (round(cx + (a + 4) * math.cos(t)), round(cy + (b + 4) * math.sin(t)))
        assert near(pixel(frame, *inside), BLUE), deg
        if 0 <= outside[0] < 320 and 0 <= outside[1] < 240:
            assert near(pixel(frame, *outside), RED), deg


def test_rounded_corners_are_transparent_and_straight_edges_full(render: Renderer) -> None:
    frame = _frame(render, _shape("rectangle", fill_color="#0000ff", border_radius=30))
    corner = 40 + 30 - 30 / math.sqrt(2)  # where the corner's arc crosses the diagonal
    assert near(pixel(frame, 41, 41), RED) and near(pixel(frame, round(corner) - 3, round(corner) - 3), RED)
    assert near(pixel(frame, round(corner) + 3, round(corner) + 3), BLUE)
    assert near(pixel(frame, 238, 158), RED)  # the opposite corner too
    assert near(pixel(frame, 140, 41), BLUE) and near(
        pixel(frame, 41, 100), BLUE
    )  # straight edges reach the box
    assert near(pixel(frame, 140, 36), RED)  # and stop there
    pill = _frame(render, _shape("rectangle", fill_color="#0000ff", border_radius="50%"))
    assert (
        near(pixel(pill, 44, 44), RED)
        and near(pixel(pill, 140, 42), BLUE)
        and near(pixel(pill, 42, 100), BLUE)
    )


def test_strokes_sit_inside_the_edge(render: Renderer) -> None:
    stroke = {"color": "#ffffff", "width": 8}
    frame = _frame(
        render,
        _shape("ellipse", fill_color="#0000ff", stroke=stroke),
        _shape("rectangle", fill_color="#0000ff", stroke=stroke, y=170, height=60),
    )
    assert near(pixel(frame, 44, 100), WHITE) and near(pixel(frame, 56, 100), BLUE)  # ellipse: left edge
    assert near(pixel(frame, 140, 43), WHITE) and near(pixel(frame, 140, 52), BLUE)  # top edge
    assert near(pixel(frame, 36, 100), RED)
    assert near(pixel(frame, 140, 173), WHITE) and near(pixel(frame, 140, 182), BLUE)  # rectangle
    assert near(pixel(frame, 43, 200), WHITE) and near(pixel(frame, 140, 166), RED)
    outline = _frame(render, _shape("ellipse", stroke=stroke))  # no fill: the inside shows below
    assert near(pixel(outline, 44, 100), WHITE) and near(pixel(outline, 140, 100), RED)


def test_a_line_crosses_the_middle_of_its_box(render: Renderer) -> None:
    frame = _frame(render, _shape("line", stroke={"color": "#ffffff", "width": 6}))
    column = [y for y in range(240) if near(pixel(frame, 140, y), WHITE)]
    assert column and abs(column[0] - 97) <= 1 and abs(column[-1] - 102) <= 1, column
    row = [x for x in range(320) if near(pixel(frame, x, 100), WHITE)]
    assert row[0] == 40 and row[-1] == 239
    assert near(pixel(frame, 140, 90), RED) and near(pixel(frame, 140, 110), RED)


def test_linear_gradients_run_the_stated_way(render: Renderer) -> None:
    colors = ["#000000", "#ffffff"]
    for angle, first, last in (
        (90, (41, 100), (238, 100)),
        (180, (140, 41), (140, 158)),
        (0, (140, 158), (140, 41)),
    ):
        frame = _frame(render, _shape("rectangle", fill_gradient={"colors": colors, "angle": angle}))
        start, end = pixel(frame, *first)[0], pixel(frame, *last)[0]
        mid = pixel(frame, 140, 100)[0]
        assert start < 20 and end > 235 and 100 < mid < 156, (angle, start, mid, end)
    diagonal = _frame(render, _shape("rectangle", fill_gradient={"colors": colors, "angle": 45}))
    assert pixel(diagonal, 41, 158)[0] < 20 and pixel(diagonal, 238, 41)[0] > 235  # bottom left to top right
    # the other corners project 28 px either side of the middle of the 225 px gradient line
    assert abs(pixel(diagonal, 41, 41)[0] - 95) < 12 and abs(pixel(diagonal, 238, 158)[0] - 160) < 12


def test_three_colours_and_translucent_stops(render: Renderer) -> None:
    frame = _frame(
        render,
        _shape("rectangle", fill_gradient={"colors": ["#0000ff", "#00ff00", "#0000ff00"], "angle": 90}),
    )
    assert near(pixel(frame, 41, 100), BLUE) and near(pixel(frame, 140, 100), GREEN, 40)
    assert near(pixel(frame, 238, 100), RED, 40)  # the last stop is transparent: the layer below


def test_radial_gradients_and_gradient_color_elements(render: Renderer) -> None:
    gradient = {"type": "radial", "colors": ["#ffffff", "#000000"]}
    frame = _frame(
        render, {"type": "color", "fill_gradient": gradient, "x": 40, "y": 40, "width": 200, "height": 120}
    )
    centre, corner = pixel(frame, 140, 100)[0], pixel(frame, 41, 41)[0]
    halfway = pixel(frame, 140 + 58, 100)[0]  # 58 px out of the 116 to a corner
    assert centre > 235 and corner < 20 and 100 < halfway < 156, (centre, halfway, corner)
    assert near(pixel(frame, 30, 30), RED)


def test_shapes_move_and_fade_like_any_layer(render: Renderer) -> None:
    spec = _still(
        _shape("ellipse", fill_color="#0000ff", x=[{"time": 0, "value": 0}, {"time": 1, "value": 100}])
    )
    out = render({**spec, "output_format": "mp4", "fps": 10, "duration": 1.5})
    assert near(pixel(frame_at(out.path, 0), 100, 100), BLUE) and near(
        pixel(frame_at(out.path, 0), 2, 42), RED
    )
    assert near(pixel(frame_at(out.path, 1.2), 200, 100), BLUE) and near(
        pixel(frame_at(out.path, 1.2), 40, 100), RED
    )
