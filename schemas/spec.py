"""The request body of POST /api/v1/videocreate: the output and its elements.

Each field's description says its semantics (tracks, percent lengths, anchors, fit modes).
Everything the renderer relies on is checked here, so a spec that validates can be
compiled; what can only be known after probing the media fails later with INVALID_INPUT.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import JsonDict

from schemas.elements import (
    ELEMENT_TYPES,
    AudioElement,
    ColorElement,
    CompositionElement,
    Element,
    ElementList,
    ImageElement,
    Shadow,
    Stroke,
    TextElement,
    Transition,
    TransitionType,
    VideoElement,
    VisualElement,
)
from schemas.looks import ColorPreset
from schemas.outputs import AUDIO_FORMATS, OutputFormat, Poster, ThumbnailOption, check_outputs
from schemas.units import Color, Length, resolve_font_size, resolve_length

__all__ = [
    "ELEMENT_TYPES",
    "AudioElement",
    "Color",
    "ColorElement",
    "ColorPreset",
    "CompositionElement",
    "Element",
    "ImageElement",
    "Length",
    "Placed",
    "Shadow",
    "Stroke",
    "TextElement",
    "Transition",
    "TransitionType",
    "VideoElement",
    "VideoSpec",
    "VisualElement",
    "resolve_font_size",
    "resolve_length",
]

MAX_WIDTH = 7680
MAX_HEIGHT = 4320
EVEN: JsonDict = {"multipleOf": 2}  # H.264 and VP9 need even sizes: `_even` checks it, the schemas say it
MAX_ELEMENTS = 100
MAX_NESTING = 3

RESOLUTION_PRESETS: dict[str, tuple[int, int]] = {
    "sd": (640, 480),
    "480p": (854, 480),
    "hd": (1280, 720),
    "720p": (1280, 720),
    "1080p": (1920, 1080),
    "fullhd": (1920, 1080),
    "4k": (3840, 2160),
    "vertical-hd": (720, 1280),
    "vertical-1080p": (1080, 1920),
    "square": (1080, 1080),
}


class TimeRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: float = Field(0.0, ge=0, description="Seconds into the timeline.")
    duration: float = Field(..., gt=0, description="Seconds rendered from there (to the end at most).")


@dataclass(frozen=True)
class Placed:
    """An element of the spec at any depth: its flat index (top-level elements keep their position),
    the composition holding it (None at top level) and how errors name it."""

    index: int
    element: Element
    parent: int | None
    label: str


class VideoSpec(BaseModel):
    """What to render: the output's format and size, and the elements on its timeline."""

    model_config = ConfigDict(extra="forbid")

    output_format: OutputFormat = Field(
        "mp4", description="mp4, webm, mov, gif; jpg or png (one frame); mp3, wav or m4a (the sound only)."
    )
    width: int | None = Field(None, ge=2, le=MAX_WIDTH, json_schema_extra=EVEN)
    height: int | None = Field(None, ge=2, le=MAX_HEIGHT, json_schema_extra=EVEN)
    resolution: str | None = Field(
        None, description=f"Preset instead of width/height: {', '.join(RESOLUTION_PRESETS)}."
    )
    fps: float = Field(30.0, gt=0, le=120)
    quality: Literal["low", "medium", "high"] = "medium"
    crf: int | None = Field(None, ge=0, le=63, description="Encoder CRF; overrides quality.")
    background_color: Color = Field("#000000", description="Color behind every element.")
    duration: float | None = Field(None, gt=0, description="Output length; default: end of the last element.")
    snapshot_time: float = Field(0.0, ge=0, description="Time of the still for jpg/png outputs.")
    loudness_normalization: bool = Field(False, description="EBU R128 normalize the mixed audio.")
    thumbnail: ThumbnailOption = Field(
        False,
        description="Also store a small JPEG frame next to the video: true (1 s in, at most 640 px wide) "
        "or {'time': 1.5, 'width': 320}; the result gives its thumbnail_url. Video outputs only.",
    )
    poster: Poster | None = Field(
        None,
        description="Also store a full-size JPEG frame next to the video: {'time': 1.5}; the result "
        "gives its poster_url. Video outputs only.",
    )
    color_preset: ColorPreset | None = Field(
        None,
        description="A colour grade of the whole output: warm, cool, vivid (more contrast and "
        "saturation), muted (less), bw (black and white) or vintage (faded, yellowed).",
    )
    range: TimeRange | None = Field(
        None, description="Render only this part of the timeline: {'start': 10, 'duration': 5}."
    )
    preview: bool = Field(
        False,
        description="A fast draft for editors: at most 640 px on its longer side, at most 15 fps, "
        "the fastest encoder settings. Same layout and timing as the full render, lower quality.",
    )
    elements: ElementList = Field(..., min_length=1, max_length=MAX_ELEMENTS)

    @model_validator(mode="after")
    def _size(self) -> VideoSpec:
        if self.resolution is not None:
            preset = RESOLUTION_PRESETS.get(self.resolution.lower())
            if preset is None:
                raise ValueError(
                    f"unknown resolution {self.resolution!r}; use one of {', '.join(RESOLUTION_PRESETS)}"
                )
            if self.width is None and self.height is None:
                self.width, self.height = preset
        if (self.width is None or self.height is None) and not self.audio_only:
            raise ValueError("give width and height (or a resolution preset)")
        if self.range is not None and self.output_format in ("jpg", "png"):
            raise ValueError(f"a {self.output_format} output is one frame: use snapshot_time, not range")
        check_outputs(self)
        if len(self.placed) > MAX_ELEMENTS:
            raise ValueError(
                f"{len(self.placed)} elements, counting those inside compositions; "
                f"at most {MAX_ELEMENTS} are allowed"
            )
        return self

    @field_validator("elements")
    @classmethod
    def _depth(cls, elements: list[Element]) -> list[Element]:
        def depth(items: list[Element]) -> int:
            nested = [depth(e.elements) for e in items if isinstance(e, CompositionElement)]
            return 1 + max(nested, default=0)

        if depth(elements) - 1 > MAX_NESTING:
            raise ValueError(
                f"compositions nest {depth(elements) - 1} deep; at most {MAX_NESTING} levels are allowed"
            )
        return elements

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int | None) -> int | None:
        if value is not None and value % 2:
            raise ValueError(f"must be an even number of pixels (H.264 and VP9 need it); got {value}")
        return value

    @property
    def audio_only(self) -> bool:
        """mp3, wav and m4a: the timeline's sound alone (width and height may be omitted)."""
        return self.output_format in AUDIO_FORMATS

    @property
    def out_width(self) -> int:
        assert self.width is not None
        return self.width

    @property
    def out_height(self) -> int:
        assert self.height is not None
        return self.height

    @cached_property
    def placed(self) -> list[Placed]:
        """Every element, nested ones after the top level (breadth first), with a flat index."""
        placed = [Placed(n, e, None, f"elements[{n}]") for n, e in enumerate(self.elements)]
        for holder in placed:  # grows while it is walked: each composition's children are appended
            if isinstance(holder.element, CompositionElement):
                placed += [
                    Placed(len(placed) + n, child, holder.index, f"{holder.label}.elements[{n}]")
                    for n, child in enumerate(holder.element.elements)
                ]
        return placed

    def children(self, parent: int | None) -> list[Placed]:
        return [p for p in self.placed if p.parent == parent]

    def element_label(self, index: int) -> str:
        """How errors name an element: its id, else its path."""
        placed = self.placed[index]
        return placed.element.id or placed.label
