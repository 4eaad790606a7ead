"""Fills of `shape` and `color` elements: a gradient model and the rules a fill must follow.

The element classes live in schemas.elements with the other types; what is particular to shapes
(which fields a shape kind may have) is checked here so that module stays a list of models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import InitErrorDetails, PydanticCustomError

from schemas.units import Color, resolve_length

ShapeKind = Literal["rectangle", "ellipse", "line"]
MAX_GRADIENT_COLORS = 8  # what FFmpeg's gradients source draws


class Gradient(BaseModel):
    """Colours spread evenly across the box: along a direction (linear) or out from its centre (radial)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["linear", "radial"] = "linear"
    colors: list[Color] = Field(
        ..., min_length=2, max_length=MAX_GRADIENT_COLORS, description="First to last: '#rrggbb[aa]'."
    )
    angle: float = Field(
        180.0,
        ge=-360,
        le=360,
        description="Linear only, degrees as in CSS: the direction the colours run towards: "
        "0 bottom to top, 90 left to right, 180 top to bottom (default), 270 right to left.",
    )


def fill_translucent(color: str | None, gradient: Gradient | None) -> bool:
    """Whether a fill lets what is below show through somewhere (a '#rrggbbaa' below ff)."""
    colors = [color] if color else gradient.colors if gradient else []
    return any(len(c) == 9 and not c.endswith("ff") for c in colors)


def _error(field: str, message: str, value: object) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError("shape", message), loc=(field,), input=value)


def shape_errors(
    shape: ShapeKind,
    fill_color: str | None,
    fill_gradient: Gradient | None,
    border_radius: float | str,
    has_stroke: bool,
) -> list[InitErrorDetails]:
    """Fields a shape kind cannot use, at their own paths; a shape must draw something."""
    errors: list[InitErrorDetails] = []
    if fill_color is not None and fill_gradient is not None:
        errors.append(_error("fill_gradient", "give fill_color or fill_gradient, not both", fill_gradient))
    if shape == "line":
        if not has_stroke:
            errors.append(_error("stroke", "a line is drawn by its stroke: give {color, width}", None))
        for name, value in (("fill_color", fill_color), ("fill_gradient", fill_gradient)):
            if value is not None:
                errors.append(_error(name, "a line has no fill; its colour is stroke.color", value))
    elif fill_color is None and fill_gradient is None and not has_stroke:
        errors.append(_error("fill_color", f"a {shape} needs fill_color, fill_gradient or stroke", None))
    if shape != "rectangle" and resolve_length(border_radius, 1.0) != 0:
        errors.append(_error("border_radius", "border_radius rounds rectangles only", border_radius))
    return errors
