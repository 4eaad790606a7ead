"""The request body of POST /api/v1/videocreate: the output and its elements.

Each field's description says its semantics (tracks, percent lengths, anchors, fit modes).
Everything the renderer relies on is checked here, so a spec that validates can be
compiled; what can only be known after probing the media fails later with INVALID_INPUT.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_WIDTH = 7680
MAX_HEIGHT = 4320
MAX_ELEMENTS = 100

_LENGTH_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(%|px)?\s*$")
_FONT_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px|vmin|vmax|vh|vw|%)?\s*$")
_COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")

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


def _kind(value: object) -> str:
    """How a message names a wrongly typed JSON value."""
    names: dict[type, str] = {list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_length(value: object) -> float | str:
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        raise ValueError(
            f"must be a length: pixels (120, '120px') or percent of the output ('25%'); got {_kind(value)}"
        )
    if not _LENGTH_RE.match(value):
        raise ValueError(f"{value!r} is not a length: use pixels (120) or percent of the output ('25%')")
    return value.strip()


Length = Annotated[
    float | str, Field(description="Pixels (number, or '120px') or percent of the output ('25%').")
]


def resolve_length(value: float | str, total: float) -> float:
    """A spec length in output pixels; percent is of `total`."""
    if isinstance(value, (int, float)):
        return float(value)
    match = _LENGTH_RE.match(value)
    if not match:
        raise ValueError(f"not a length: {value!r}")
    number = float(match.group(1))
    return number * total / 100.0 if match.group(2) == "%" else number


def resolve_font_size(value: float | str, width: int, height: int) -> float:
    """Font size in pixels; vmin/vmax/vh/vw are percent of the output like in CSS."""
    if isinstance(value, (int, float)):
        return float(value)
    match = _FONT_SIZE_RE.match(value)
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


def _check_color(value: str) -> str:
    if not _COLOR_RE.match(value):
        raise ValueError(f"{value!r} is not a color: use '#rrggbb' or '#rrggbbaa'")
    return value.lower()


Color = Annotated[str, AfterValidator(_check_color)]


TransitionType = Literal[
    "fade",
    "crossfade",
    "dissolve",
    "wipeleft",
    "wiperight",
    "wipeup",
    "wipedown",
    "slideleft",
    "slideright",
    "slideup",
    "slidedown",
    "fadeblack",
    "fadewhite",
    "circleopen",
    "circleclose",
]


ColorPreset = Literal["warm", "cool", "vivid", "muted", "bw", "vintage"]


class Transition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: TransitionType = "crossfade"
    duration: float = Field(
        1.0, gt=0, le=10, description="Seconds the transition overlaps the previous clip."
    )


class Stroke(BaseModel):
    model_config = ConfigDict(extra="forbid")

    color: Color = "#000000"
    width: float = Field(2.0, ge=0, le=50)


class Shadow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    color: Color = "#000000aa"
    x: float = Field(2.0, ge=-100, le=100)
    y: float = Field(2.0, ge=-100, le=100)


class Element(BaseModel):
    """One thing on the timeline: media, text or a solid color, placed in time and space."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, max_length=64, description="Your name for the element, used in errors.")
    type: Literal["video", "image", "text", "audio", "color"]
    source: str | None = Field(None, max_length=4096, description="URL of the media (video, image, audio).")
    track: int = Field(1, ge=0, le=1000, description="Higher tracks are drawn on top.")
    time: float = Field(0.0, ge=0, description="Start on the output timeline, seconds.")
    duration: float | Literal["media"] | None = Field(
        None, description="Seconds, 'media' for the source's length, or omitted: until the output ends."
    )
    trim_start: float | None = Field(None, ge=0, description="Seconds skipped at the start of the source.")
    trim_end: float | None = Field(None, gt=0, description="Source time where the element stops.")
    x: Length | None = None
    y: Length | None = None
    width: Length | None = None
    height: Length | None = None
    x_anchor: Length = Field("0%", description="Point of the element placed at x, percent of its width.")
    y_anchor: Length = Field("0%", description="Point of the element placed at y, percent of its height.")
    fit_mode: Literal["cover", "contain", "fill", "auto"] = "auto"
    duration_mode: Literal["auto", "loop", "freeze"] = "auto"
    opacity: float = Field(1.0, ge=0, le=1)
    rotation: float = Field(0.0, ge=-3600, le=3600, description="Degrees, clockwise.")
    volume: float = Field(1.0, ge=0, le=10, description="Linear gain of the element's sound.")
    muted: bool = False
    fade_in: float = Field(0.0, ge=0, description="Seconds of fade in (visual and audio).")
    fade_out: float = Field(0.0, ge=0, description="Seconds of fade out (visual and audio).")
    transition: Transition | None = Field(
        None, description="Transition from the previous clip on the same track into this one."
    )
    # text
    text: str | None = Field(None, max_length=5000)
    font_family: str | None = Field(None, max_length=4096, description="Fontconfig name or a font file URL.")
    font_size: float | str = Field(48.0, description="Pixels, or vmin/vmax/vh/vw units ('5vmin').")
    color: Color | None = Field(None, description="Text color, or the fill of a color element.")
    background_color: Color | None = Field(None, description="Box behind text.")
    background_padding: float = Field(0.0, ge=0, le=500)
    stroke: Stroke | None = None
    shadow: Shadow | None = None
    align: Literal["left", "center", "right"] = "center"
    vertical_align: Literal["top", "center", "bottom"] = Field(
        "center", description="Where the text sits in its box's height."
    )
    line_spacing: float = Field(0.0, ge=-100, le=500)
    # audio
    voiceover: bool = Field(False, description="Duck other audio under this element.")

    @field_validator("x", "y", "width", "height", "x_anchor", "y_anchor", mode="before")
    @classmethod
    def _lengths(cls, value: object) -> float | str | None:
        return None if value is None else _check_length(value)

    # Union fields: a value of no member's type is one error at the field's own path, not one per
    # member (pydantic names members in the path: 'font_size.float', 'font_size.str').
    @field_validator("font_size", mode="before")
    @classmethod
    def _font_size_type(cls, value: object) -> object:
        if not isinstance(value, (int, float, str)):
            raise ValueError(f"must be pixels (48) or a size such as '5vmin'; got {_kind(value)}")
        return value

    @field_validator("duration", mode="before")
    @classmethod
    def _duration_type(cls, value: object) -> object:
        if value is None or value == "media" or isinstance(value, (int, float)):
            return value
        if isinstance(value, str) and _is_number(value):
            return value  # a numeric string: pydantic parses it, as before
        shown = repr(value) if isinstance(value, str) else _kind(value)
        raise ValueError(f"must be seconds (a number) or 'media'; got {shown}")

    @field_validator("font_size")
    @classmethod
    def _font_size(cls, value: float | str) -> float | str:
        if isinstance(value, str) and not _FONT_SIZE_RE.match(value):
            raise ValueError(f"{value!r} is not a font size: use pixels or vmin/vmax/vh/vw units")
        if isinstance(value, (int, float)) and not 1 <= value <= 2000:
            raise ValueError("font_size must be between 1 and 2000 pixels")
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("source must not be empty")
        return value

    @model_validator(mode="after")
    def _by_type(self) -> Element:
        if self.type in ("video", "image", "audio") and not self.source:
            raise ValueError(f"a {self.type} element needs a source URL")
        if self.type == "text" and self.text is None:
            raise ValueError("a text element needs text")
        if self.type == "color" and self.color is None:
            raise ValueError("a color element needs color ('#rrggbb' or '#rrggbbaa')")
        if self.type in ("text", "color") and self.duration == "media":
            raise ValueError(f"a {self.type} element has no media; give duration in seconds")
        if self.trim_start is not None and self.trim_end is not None and self.trim_end <= self.trim_start:
            raise ValueError("trim_end must be after trim_start")
        if isinstance(self.duration, float) and self.duration <= 0:
            raise ValueError("duration must be positive")
        return self


class VideoSpec(BaseModel):
    """What to render: the output's format and size, and the elements on its timeline."""

    model_config = ConfigDict(extra="forbid")

    output_format: Literal["mp4", "webm", "mov", "gif", "jpg", "png"] = "mp4"
    width: int | None = Field(None, ge=2, le=MAX_WIDTH)
    height: int | None = Field(None, ge=2, le=MAX_HEIGHT)
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
    thumbnail: bool = Field(
        False,
        description="Also store a JPEG frame (1 s in, at most 640 px wide) next to the video; "
        "the result gives its thumbnail_url. Video outputs only.",
    )
    color_preset: ColorPreset | None = Field(
        None,
        description="A colour grade of the whole output: warm, cool, vivid (more contrast and "
        "saturation), muted (less), bw (black and white) or vintage (faded, yellowed).",
    )
    elements: list[Element] = Field(..., min_length=1, max_length=MAX_ELEMENTS)

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
        if self.width is None or self.height is None:
            raise ValueError("give width and height (or a resolution preset)")
        if self.thumbnail and self.output_format in ("jpg", "png"):
            raise ValueError(f"a {self.output_format} output is a still already; thumbnail is for videos")
        return self

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int | None) -> int | None:
        if value is not None and value % 2:
            raise ValueError(f"must be an even number of pixels (H.264 and VP9 need it); got {value}")
        return value

    @property
    def out_width(self) -> int:
        assert self.width is not None
        return self.width

    @property
    def out_height(self) -> int:
        assert self.height is not None
        return self.height

    def element_label(self, index: int) -> str:
        """How errors name an element: its id, else its position."""
        element = self.elements[index]
        return element.id or f"elements[{index}]"
