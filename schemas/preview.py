"""The bodies of the studio's preview routes (POST /api/v1/preview/frame and /clip, api/preview_routes.py):
a spec as the editor holds it, with the template values to fill it with, and the moment to show."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.spec import MAX_WIDTH
from schemas.templates import MAX_PLACEHOLDERS, MergeValues

MAX_CLIP_SECONDS = 10.0
SPEC_DOC = (
    "A video spec, as the body of POST /api/v1/videocreate (without callback_url). Its string values may "
    "hold {{placeholders}}, filled from `merge`. Errors name its fields from the spec ('elements.0.x')."
)
MERGE_DOC = (
    "Template values: every {{placeholder}} of the spec gets one, as POST /api/v1/videocreate fills a "
    "saved template ({'name': 'Ada'}). Omitted: the spec is previewed as written."
)


class PreviewSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: dict[str, Any] = Field(..., description=SPEC_DOC)
    merge: MergeValues | None = Field(None, max_length=MAX_PLACEHOLDERS, description=MERGE_DOC)


class PreviewFrameRequest(PreviewSource):
    """POST /api/v1/preview/frame: one frame of the final render, as an image."""

    time: float = Field(
        ...,
        ge=0,
        allow_inf_nan=False,
        description="Seconds into the output: the frame shown then (the last one starting at or before "
        "it; past the end, the last frame).",
    )
    width: int | None = Field(
        None,
        ge=16,
        le=MAX_WIDTH,
        description="Pixels wide (rounded down to even, at most the output's width); the height follows "
        "the output's aspect. Default: the output's width, at most 1280.",
    )
    format: Literal["jpg", "png"] = Field("jpg", description="jpg (image/jpeg) or png (image/png).")


class PreviewClipRequest(PreviewSource):
    """POST /api/v1/preview/clip: a low-resolution mp4 of part of the timeline, for playback."""

    start: float = Field(
        ..., ge=0, allow_inf_nan=False, description="Seconds into the output where the clip begins."
    )
    duration: float = Field(
        ...,
        gt=0,
        le=MAX_CLIP_SECONDS,
        allow_inf_nan=False,
        description=f"Seconds of the clip, at most {MAX_CLIP_SECONDS:g} (less past the output's end).",
    )


class PreviewLayoutRequest(PreviewSource):
    """POST /api/v1/preview/layout: where each element is, for an editor's timeline and canvas."""

    time: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="Seconds into the output the boxes are given at."
    )


class LayoutRect(BaseModel):
    x: float = Field(..., description="Left edge, output pixels.")
    y: float = Field(..., description="Top edge, output pixels.")
    width: float
    height: float


class LayoutPoint(BaseModel):
    x: float
    y: float


class ElementPlacement(BaseModel):
    """One element as the renderer resolves it."""

    path: str = Field(
        ..., description="Its place in the spec, as errors name fields: 'elements.3.elements.0'."
    )
    type: str
    track: int
    start: float = Field(
        ..., description="Seconds on the output's timeline where it begins (media lengths resolved)."
    )
    end: float = Field(..., description="Seconds on the output's timeline where it ends.")
    visible: bool = Field(..., description="Drawn at the time asked.")
    box: LayoutRect | None = Field(
        None,
        description="Its placed rectangle at that time (scale and motion applied, before rotation), output "
        "pixels; children of a composition offset by the composition's box. None for sound.",
    )
    anchor: LayoutPoint | None = Field(None, description="Where its x/y put its anchor point, output pixels.")
    rotation: float = Field(0.0, description="Degrees clockwise at that time.")
    opacity: float = Field(1.0, description="0 to 1 at that time.")


class PreviewLayout(BaseModel):
    """The output's size, rate and length, and its elements in drawing order (later on top)."""

    duration: float
    width: int
    height: int
    fps: float
    elements: list[ElementPlacement]
