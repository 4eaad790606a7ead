"""Easings in Python: the named set keeps its ends, the old names keep their cubic meaning, and
cubic-bezier follows CSS within a thousandth; bad easings are refused at their path."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from media.motion import Curve, ease
from schemas.elements import ColorElement
from schemas.motion import EASINGS
from schemas.spec import VideoSpec

POINTS = [n / 200 for n in range(201)]


@pytest.mark.parametrize("name", [n for n in EASINGS if n != "step"])
def test_every_easing_runs_from_0_to_1(name: str) -> None:
    curve = ease(name)
    assert abs(curve(0.0)) < 1e-9 and abs(curve(1.0) - 1) < 1e-9


def test_the_old_names_are_cubic_and_out_mirrors_in() -> None:
    for p in POINTS:
        assert ease("ease-in")(p) == ease("ease-in-cubic")(p) == pytest.approx(p**3)
        assert ease("ease-out")(p) == pytest.approx(1 - (1 - p) ** 3)
        assert ease("ease-in-out")(p) == ease("ease-in-out-cubic")(p)
        assert ease("ease-out-quad")(p) == pytest.approx(1 - ease("ease-in-quad")(1 - p))


def test_known_values_of_the_families() -> None:
    # easings.net's formulas at chosen points
    assert ease("ease-in-sine")(0.5) == pytest.approx(1 - math.cos(math.pi / 4))
    assert ease("ease-out-expo")(0.1) == pytest.approx(0.5)
    assert ease("ease-in-out-circ")(0.25) == pytest.approx((1 - math.sqrt(0.75)) / 2)
    assert min(ease("ease-in-back")(p) for p in POINTS) == pytest.approx(-0.1, abs=0.001)  # dips below
    assert max(ease("ease-out-back")(p) for p in POINTS) == pytest.approx(1.1, abs=0.001)  # overshoots
    assert ease("ease-out-bounce")(1 / 2.75) == pytest.approx(1.0)  # the first landing
    assert ease("ease-out-elastic")(0.1) > 1 and ease("ease-in-out-elastic")(0.5) == pytest.approx(0.5)


def _exact_bezier(x1: float, y1: float, x2: float, y2: float, p: float) -> float:
    def point(s: float, a: float, b: float) -> float:
        return 3 * (1 - s) ** 2 * s * a + 3 * (1 - s) * s**2 * b + s**3

    lo, hi = 0.0, 1.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if point(mid, x1, x2) < p else (lo, mid)
    return point((lo + hi) / 2, y1, y2)


@pytest.mark.parametrize(
    "points",
    [
        (0.25, 0.1, 0.25, 1),
        (0.42, 0, 1, 1),
        (0, 0, 1, 1),
        (0, 1, 1, 0),
        (0.68, -0.6, 0.32, 1.6),
        (0, 5, 1, -5),
    ],
)
def test_cubic_bezier_is_within_a_thousandth_of_css(points: tuple[float, float, float, float]) -> None:
    curve = ease("cubic-bezier({}, {}, {}, {})".format(*points))
    error = max(abs(curve(p) - _exact_bezier(*points, p)) for p in POINTS)
    assert error < 1e-3 / 10, error


def test_a_curve_of_many_keyframes_is_a_shallow_expression() -> None:
    curve = Curve(tuple((k / 10, float(k % 7), "ease-out-bounce") for k in range(1000)))
    expr = curve.expr()
    depth = deepest = 0
    for ch in expr:
        depth += (ch == "(") - (ch == ")")
        deepest = max(deepest, depth)
    assert deepest < 40, deepest  # 10 halvings for 1,000 keyframes, then one segment's few levels
    assert curve.at(50.05) == pytest.approx(3 + ease("ease-out-bounce")(0.5))  # from k=500 (3) to 4


def _errors(*elements: dict[str, Any]) -> dict[str, tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        VideoSpec.model_validate({"width": 320, "height": 240, "elements": list(elements)})
    return {".".join(str(p) for p in err["loc"]): (err["type"], err["msg"]) for err in caught.value.errors()}


@pytest.mark.parametrize(
    ("easing", "code", "hint"),
    [
        ("bounce", "easing", "ease-{in|out|in-out}-{sine|"),
        ("cubic-bezier(1.5, 0, 0.5, 1)", "cubic_bezier_x", "between 0 and 1"),
        ("cubic-bezier(0.5, 8, 0.5, 1)", "cubic_bezier_y", "between -5 and 5"),
        ("cubic-bezier(0.5, 0.5)", "cubic_bezier", "four numbers"),
    ],
)
def test_bad_easings_are_refused_at_their_path(easing: str, code: str, hint: str) -> None:
    x = [{"time": 0, "value": 0}, {"time": 1, "value": 9}, {"time": 2, "value": 0, "easing": easing}]
    errors = _errors(
        {"type": "color", "color": "#000000", "x": x, "animations": [{"type": "fade", "easing": easing}]}
    )
    for path in ("elements.0.x.2.easing", "elements.0.animations.0.easing"):
        assert errors[path][0] == code and hint in errors[path][1], errors


def test_new_easings_are_accepted_everywhere() -> None:
    spec = VideoSpec.model_validate(
        {
            "width": 320,
            "height": 240,
            "elements": [
                {
                    "type": "color",
                    "color": "#000000",
                    "x": [
                        {"time": 0, "value": 0},
                        {"time": 1, "value": 9, "easing": "cubic-bezier(.17,.67,.83,.67)"},
                    ],
                    "animations": [{"type": "slide", "easing": "ease-out-back"}],
                }
            ],
        }
    )
    element = spec.elements[0]
    assert isinstance(element, ColorElement) and element.animations[0].easing == "ease-out-back"
