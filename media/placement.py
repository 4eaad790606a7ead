"""Where a visual element is and how it looks over its local time: box, scale, position,
rotation and opacity as curves, with the animation presets folded in.

Lengths resolve against the element's frame (the output, or the box of the composition holding
it). An element that does not move gets whole-pixel numbers, as before motion existed; one that
moves gets curves the layer turns into per-frame expressions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from media.layout import Box
from media.motion import Curve
from schemas.elements import Animation, VisualElement
from schemas.motion import LengthKeyframe, scale_factor
from schemas.units import Length, resolve_length

SCALE_FLOOR = 0.001  # a scale animation from 0 starts at a speck: FFmpeg cannot size a frame 0


@dataclass(frozen=True)
class Frame:
    """What an element is laid out in: the output, or a composition's box."""

    width: int
    height: int


@dataclass(frozen=True)
class Placement:
    width: Curve  # the box's size, scale applied
    height: Curve
    left: Curve  # the box's top-left corner in the frame
    top: Curve
    rotation: Curve  # degrees clockwise about the box's centre
    opacity: Curve
    anchor: tuple[float, float]  # fractions of the box: the point scaling keeps still
    wipes: tuple[Animation, ...]

    @property
    def resizes(self) -> bool:
        return not (self.width.is_constant and self.height.is_constant)

    @property
    def moves(self) -> bool:
        return not (self.left.is_constant and self.top.is_constant)

    def static_box(self) -> Box:
        """The box in whole pixels when nothing moves (as the renderer always placed elements)."""
        return Box(
            round(self.left.at(0)),
            round(self.top.at(0)),
            max(1, round(self.width.at(0))),
            max(1, round(self.height.at(0))),
        )


def _curve(value: float | str | list[LengthKeyframe], total: float) -> Curve:
    if isinstance(value, list):
        return Curve(tuple((k.time, resolve_length(k.value, total), k.easing) for k in value))
    return Curve.constant(resolve_length(value, total))


def _numbers(value: object) -> Curve:
    if isinstance(value, list):
        return Curve(tuple((k.time, _scalar(k.value), k.easing) for k in value))
    return Curve.constant(_scalar(value))


def _scalar(value: object) -> float:
    if isinstance(value, str):
        factor = scale_factor(value)
        assert factor is not None  # checked by the schema
        return factor
    assert isinstance(value, (int, float))
    return float(value)


def _anchor(anchor: Length, size: float) -> float:
    return resolve_length(anchor, size) / size if size else 0.0


def place(
    element: VisualElement,
    frame: Frame,
    media: tuple[int, int] | None,
    length: float,
    *,
    hug: tuple[float, float] | None = None,
) -> Placement:
    """The element's curves over [0, length]. `media` gives a missing side by the source's
    aspect; `hug` is the size of a text block that sizes its own box."""
    if element.width is None and element.height is None:
        w, h = (
            (Curve.constant(hug[0]), Curve.constant(hug[1]))
            if hug
            else (Curve.constant(frame.width), Curve.constant(frame.height))
        )
    elif element.height is None:
        assert element.width is not None
        raw = _curve(element.width, frame.width)
        w = _rounded(raw)
        h = (
            _rounded(raw.times(Curve.constant(media[1] / media[0])))
            if media
            else Curve.constant(frame.height)
        )
    elif element.width is None:
        raw = _curve(element.height, frame.height)
        h = _rounded(raw)
        w = _rounded(raw.times(Curve.constant(media[0] / media[1]))) if media else Curve.constant(frame.width)
    else:
        w, h = _rounded(_curve(element.width, frame.width)), _rounded(_curve(element.height, frame.height))
    scale = _numbers(element.scale)
    opacity = _numbers(element.opacity)
    rotation = _numbers(element.rotation)
    dx, dy = Curve.constant(0.0), Curve.constant(0.0)
    base_w, base_h = w.at(0), h.at(0)
    for animation in element.animations:
        if animation.split is not None:  # each part of the text runs it: media.builders.text_split
            continue
        start, end = _window(animation, length)
        entering = animation.time == "start"
        ramp_in = Curve.ramp(start, end, 0.0 if entering else 1.0, 1.0 if entering else 0.0, animation.easing)
        if animation.type == "fade":
            opacity = opacity.times(ramp_in)
        elif animation.type == "scale":
            floor = Curve.ramp(
                start,
                end,
                SCALE_FLOOR if entering else 1.0,
                1.0 if entering else SCALE_FLOOR,
                animation.easing,
            )
            scale = scale.times(floor)
        elif animation.type == "spin":
            rotation = rotation.plus(
                Curve.ramp(
                    start, end, -360.0 if entering else 0.0, 0.0 if entering else 360.0, animation.easing
                )
            )
        elif animation.type == "slide":
            x0 = _near_edge(element.x, element.x_anchor, frame.width, base_w)
            y0 = _near_edge(element.y, element.y_anchor, frame.height, base_h)
            box = (x0, y0, base_w, base_h)
            dx, dy = slid(animation, start, end, box, (frame.width, frame.height), dx, dy)
    width, height = w.times(scale), h.times(scale)
    ax = _anchor(element.x_anchor, base_w)
    ay = _anchor(element.y_anchor, base_h)
    left = _position(element.x, frame.width, width, ax).plus(dx)
    top = _position(element.y, frame.height, height, ay).plus(dy)
    wipes = tuple(a for a in element.animations if a.type == "wipe")
    return Placement(width, height, left, top, rotation, opacity, (ax, ay), wipes)


def _rounded(curve: Curve) -> Curve:
    """A constant size in whole pixels, as boxes always were."""
    return Curve.constant(max(1, round(curve.at(0)))) if curve.is_constant else curve


def _position(
    value: float | str | list[LengthKeyframe] | None, total: int, size: Curve, anchor: float
) -> Curve:
    """The box's near edge: the anchor point at `value`, or the box centred."""
    if value is None:
        return Curve.constant(total / 2).plus(size.times(Curve.constant(-0.5)))
    return _curve(value, total).plus(size.times(Curve.constant(-anchor)))


def _near_edge(
    value: float | str | list[LengthKeyframe] | None, anchor: Length, total: int, size: float
) -> float:
    """Where the box's left (or top) edge is at the element's start."""
    if value is None:
        return (total - size) / 2
    return _curve(value, total).at(0) - _anchor(anchor, size) * size


def _window(animation: Animation, length: float) -> tuple[float, float]:
    seconds = min(animation.duration, length)
    return (0.0, seconds) if animation.time == "start" else (length - seconds, length)


def largest(curve: Curve, length: float) -> int:
    return max(1, math.ceil(curve.bounds(length)[1] - 1e-6))


def slid(
    animation: Animation,
    start: float,
    end: float,
    box: tuple[float, float, float, float],
    room: tuple[float, float],
    dx: Curve,
    dy: Curve,
) -> tuple[Curve, Curve]:
    """The offsets `dx`, `dy` with a slide from (entering) or to (leaving) just past the edge of the
    `room` that `animation.direction` names, for a `box` (x, y, width, height) inside it."""
    x, y, width, height = box
    distance = {
        "left": -(x + width),
        "right": room[0] - x,
        "up": -(y + height),
        "down": room[1] - y,
    }[animation.direction]
    entering = animation.time == "start"
    offset = Curve.ramp(
        start, end, distance if entering else 0.0, 0.0 if entering else distance, animation.easing
    )
    if animation.direction in ("left", "right"):
        return dx.plus(offset), dy
    return dx, dy.plus(offset)
