"""What a spec asks to be stored besides the timeline's picture: audio-only formats, a poster and a
thumbnail, and the combinations that cannot be honoured (refused at the door, with the field)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import InitErrorDetails, PydanticCustomError

from schemas.elements import AudibleElement
from schemas.motion import raise_at

if TYPE_CHECKING:
    from schemas.spec import VideoSpec

OutputFormat = Literal["mp4", "webm", "mov", "gif", "jpg", "png", "mp3", "wav", "m4a"]
AUDIO_FORMATS = ("mp3", "wav", "m4a")
STILL_FORMATS = ("jpg", "png")
THUMBNAIL_MAX_WIDTH = 640


class Poster(BaseModel):
    """A full-size JPEG of one frame, stored next to the video."""

    model_config = ConfigDict(extra="forbid")

    time: float = Field(
        0.0, ge=0, description="Seconds into the output (or its range); past its end: the last frame."
    )


class Thumbnail(BaseModel):
    """A small JPEG of one frame, stored next to the video."""

    model_config = ConfigDict(extra="forbid")

    time: float | None = Field(
        None,
        ge=0,
        description="Seconds into the output (or its range); past its end: the last frame. "
        "Default: 1 s in, the middle of a shorter video.",
    )
    width: int | None = Field(
        None,
        ge=16,
        description="Pixels wide, the height following the picture's aspect; at most the output's width. "
        f"Default: the output's width, at most {THUMBNAIL_MAX_WIDTH}.",
    )


def _thumbnail(value: object) -> object:
    """An object is a Thumbnail: its errors then name `thumbnail.width`, not every union member."""
    return Thumbnail.model_validate(value) if isinstance(value, dict) else value


ThumbnailOption = Annotated[bool | Thumbnail, BeforeValidator(_thumbnail)]


def audible(spec: VideoSpec) -> bool:
    """Whether any element, nested ones included, may be heard (its source may still turn out to
    have no sound, which only probing tells)."""
    return any(isinstance(p.element, AudibleElement) and not p.element.silent for p in spec.placed)


def check_outputs(spec: VideoSpec) -> None:
    """Refuse what the output format cannot carry, each error at the field to change."""
    fmt = spec.output_format
    errors: list[tuple[str, str]] = []
    if fmt in AUDIO_FORMATS:
        if not audible(spec):
            errors.append(
                (
                    "elements",
                    f"{fmt} outputs are sound only, and no element can be heard: add an audio or "
                    "video element that is not muted and whose volume is above 0",
                )
            )
        pictorial = {
            "poster": spec.poster,
            "thumbnail": spec.thumbnail,
            "preview": spec.preview,
            "color_preset": spec.color_preset,
        }
        errors += [
            (name, f"{fmt} outputs have no picture; remove {name} or choose a video format")
            for name, value in pictorial.items()
            if value
        ]
    elif fmt in STILL_FORMATS:
        errors += [
            (name, f"a {fmt} output is a still already; {name} is for videos")
            for name, value in (("poster", spec.poster), ("thumbnail", spec.thumbnail))
            if value
        ]
    elif isinstance(spec.thumbnail, Thumbnail) and (spec.thumbnail.width or 0) > (spec.width or 0):
        errors.append(
            (
                "thumbnail.width",
                f"{spec.thumbnail.width} px is wider than the output ({spec.width} px); "
                "ask for a poster for a full-size frame",
            )
        )
    raise_at(
        "VideoSpec",
        [
            InitErrorDetails(
                type=PydanticCustomError("output", message),
                loc=tuple(field.split(".")),
                input=None,
            )
            for field, message in errors
        ],
    )
