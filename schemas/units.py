"""Lengths, font sizes and colours as a spec writes them, checked and resolved to pixels."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

LENGTH_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(%|px)?\s*$")
FONT_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px|vmin|vmax|vh|vw|%)?\s*$")
AUTO = "auto"  # a font size fitted to the box
_COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


def kind(value: object) -> str:
    """How a message names a wrongly typed JSON value."""
    names: dict[type, str] = {list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_length(value: object) -> float | str:
    if isinstance(value, bool):
        raise ValueError("must be a length: pixels (120, '120px') or percent ('25%'); got bool")
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"must be a length: pixels (120, '120px') or percent ('25%'); got {kind(value)}")
    if not LENGTH_RE.match(value):
        raise ValueError(f"{value!r} is not a length: use pixels (120) or percent ('25%')")
    return value.strip()


def check_font_size(value: object, *, auto: bool = False) -> float | str:
    """Pixels (1 to 2000) or a size in vmin/vmax/vh/vw units, or with `auto` the word 'auto'; one
    error at the field's own path."""
    also = " or 'auto'" if auto else ""
    if auto and isinstance(value, str) and value.strip().lower() == AUTO:
        return AUTO
    if not isinstance(value, (int, float, str)) or isinstance(value, bool):
        raise ValueError(f"must be pixels (48) or a size such as '5vmin'{also}; got {kind(value)}")
    if isinstance(value, str) and not FONT_SIZE_RE.match(value):
        raise ValueError(f"{value!r} is not a font size: use pixels or vmin/vmax/vh/vw units{also}")
    if isinstance(value, (int, float)) and not 1 <= value <= 2000:
        raise ValueError("font_size must be between 1 and 2000 pixels")
    return value if isinstance(value, str) else float(value)


Length = Annotated[
    float | str,
    Field(
        description="Pixels (number, or '120px') or percent ('25%') of the output "
        "(of the enclosing composition inside one)."
    ),
]


def resolve_length(value: float | str, total: float) -> float:
    """A spec length in pixels; percent is of `total`."""
    if isinstance(value, (int, float)):
        return float(value)
    match = LENGTH_RE.match(value)
    if not match:
        raise ValueError(f"not a length: {value!r}")
    number = float(match.group(1))
    return number * total / 100.0 if match.group(2) == "%" else number


def resolve_font_size(value: float | str, width: int, height: int) -> float:
    """Font size in pixels; vmin/vmax/vh/vw are percent of the output like in CSS."""
    if isinstance(value, (int, float)):
        return float(value)
    match = FONT_SIZE_RE.match(value)
    if not match:
        raise ValueError(f"not a font size: {value!r}")
    number, unit = float(match.group(1)), match.group(2) or "px"
    base = {
        "px": 100.0,
        "vmin": min(width, height),
        "vmax": max(width, height),
        "vh": height,
        "vw": width,
        "%": height,
    }[unit]
    return number if unit == "px" else number * base / 100.0


def comparable_font_sizes(low: float | str, high: float | str) -> tuple[float, float] | None:
    """Two font sizes as numbers when they are in the same unit (pixels, or the same relative
    unit), else None: which is larger then depends on the output's size."""
    sized = []
    for value in (low, high):
        match = FONT_SIZE_RE.match(value) if isinstance(value, str) else None
        sized.append((float(match.group(1)), match.group(2) or "px") if match else (float(value), "px"))
    (first, unit), (second, other) = sized
    return (first, second) if unit == other else None


def _check_color(value: str) -> str:
    if not _COLOR_RE.match(value):
        raise ValueError(f"{value!r} is not a color: use '#rrggbb' or '#rrggbbaa'")
    return value.lower()


Color = Annotated[
    str,
    AfterValidator(_check_color),
    WithJsonSchema({"type": "string", "pattern": _COLOR_RE.pattern}),  # the check, for the schemas
]
