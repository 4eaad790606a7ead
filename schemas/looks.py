"""How an element looks: colour filters, colour presets, chroma key and a crop of its source.

Every filter's value has a documented range and a default (None means the type needs no value or
takes its default); presets are the same six grades the whole output can have.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.units import Color, Length, check_length

ColorPreset = Literal["warm", "cool", "vivid", "muted", "bw", "vintage"]
FilterType = Literal[
    "greyscale",
    "sepia",
    "invert",
    "blur",
    "sharpen",
    "brightness",
    "contrast",
    "saturation",
    "hue",
    "vignette",
]
# type: (lowest, highest, default); the default applies when `value` is omitted
FILTER_RANGES: dict[str, tuple[float, float, float]] = {
    "greyscale": (0.0, 1.0, 1.0),  # how much colour is removed
    "sepia": (0.0, 1.0, 1.0),  # how much of the sepia tone replaces the colours
    "invert": (0.0, 1.0, 1.0),  # 1 inverts; 0 leaves as is (values between are rounded)
    "blur": (0.0, 100.0, 4.0),  # radius in pixels
    "sharpen": (0.0, 5.0, 1.0),  # unsharp-mask amount
    "brightness": (-1.0, 1.0, 0.1),  # added to luma; 0 keeps it
    "contrast": (0.0, 4.0, 1.2),  # factor; 1 keeps it
    "saturation": (0.0, 4.0, 1.5),  # factor; 1 keeps it, 0 is grey
    "hue": (-360.0, 360.0, 90.0),  # rotation in degrees
    "vignette": (0.0, 1.0, 0.5),  # strength of the darkened corners
}


class LookFilter(BaseModel):
    """One colour filter. Ranges: greyscale, sepia, invert, vignette 0 to 1; blur 0 to 100 (px
    radius); sharpen 0 to 5; brightness -1 to 1; contrast and saturation 0 to 4 (1 = unchanged);
    hue -360 to 360 (degrees)."""

    model_config = ConfigDict(extra="forbid")

    type: FilterType
    value: float | None = Field(None, description="See the ranges above; omitted: the type's default.")

    @model_validator(mode="after")
    def _range(self) -> LookFilter:
        low, high, _ = FILTER_RANGES[self.type]
        if self.value is not None and not low <= self.value <= high:
            raise ValueError(
                f"value of a {self.type} filter must be between {low:g} and {high:g}; got {self.value:g}"
            )
        return self

    @property
    def amount(self) -> float:
        return FILTER_RANGES[self.type][2] if self.value is None else self.value


class ChromaKey(BaseModel):
    """The keyed colour becomes transparent: what lies below shows through."""

    model_config = ConfigDict(extra="forbid")

    color: Color = "#00ff00"
    similarity: float = Field(0.3, ge=0.01, le=1, description="How far from the colour is still keyed.")
    blend: float = Field(0.1, ge=0, le=1, description="Soft edge: partial transparency near the limit.")


class Crop(BaseModel):
    """The part of the source used, before it is fitted into the element's box."""

    model_config = ConfigDict(extra="forbid")

    x: Length = Field(0.0, description="Left edge: pixels or percent of the source's width.")
    y: Length = Field(0.0, description="Top edge: pixels or percent of the source's height.")
    width: Length = Field(..., description="Pixels or percent of the source's width.")
    height: Length = Field(..., description="Pixels or percent of the source's height.")

    @field_validator("x", "y", "width", "height", mode="before")
    @classmethod
    def _length(cls, value: object) -> float | str:
        return check_length(value)
