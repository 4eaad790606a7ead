"""Seed 003's template rendering routes (`/api/video/generate|status|cancel`): the request, its
inline template in the seed's track form, and the answers (camelCase, as the seed's `jobId`).

An inline template is either a video spec with placeholders (it has `elements`) or the seed's
track form below (it has `tracks`); each track becomes one element (api/tracks.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.events import JobStatus
from schemas.templates import MAX_PLACEHOLDERS, TEMPLATE_ID_PATTERN, MergeValues

MAX_TRACKS = 100


class Track(BaseModel):
    """One track of the seed's template: a background (a color, or an image or video filling the
    frame, behind everything), text, an image, or audio. Later tracks are drawn over earlier ones."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["background", "text", "image", "audio"]
    id: str | None = Field(None, max_length=64, description="Your name for the track, used in errors.")
    start: float = Field(0.0, description="Seconds into the video.")
    duration: float | None = Field(None, description="Seconds; omitted: until the video ends.")
    src: str | None = Field(None, description="Media URL: background, image, audio.")
    color: str | None = Field(None, description="Background fill, or text color ('#rrggbb').")
    text: str | None = None
    x: float | str | None = Field(None, description="Pixels or percent ('10%') of the left edge.")
    y: float | str | None = Field(None, description="Pixels or percent of the top edge.")
    width: float | str | None = None
    height: float | str | None = None
    fontSize: float | str | None = Field(None, description="Pixels, or vmin/vh/vw units.")
    fontFamily: str | None = None
    align: Literal["left", "center", "right"] | None = None
    fit: Literal["cover", "contain", "fill"] | None = None
    volume: float | None = Field(None, description="Linear gain of an audio track.")
    loop: bool = Field(False, description="Audio: repeat until the track ends.")
    animation: Literal["none", "fade"] = Field("none", description="fade: in and out over 0.5 s.")

    @model_validator(mode="after")
    def _background(self) -> Track:
        if self.type == "background" and (self.color is None) == (self.src is None):
            raise ValueError("a background track needs either color or src")
        return self


class TracksTemplate(BaseModel):
    """The seed's template form: the output and its tracks."""

    model_config = ConfigDict(extra="forbid")

    width: int = 1280
    height: int = 720
    fps: float = 30.0
    duration: float | None = Field(None, description="Seconds; omitted: the end of the last track.")
    format: Literal["mp4", "webm", "mov", "gif"] = "mp4"
    background: str = Field("#000000", description="Color behind every track.")
    tracks: list[Track] = Field(..., min_length=1, max_length=MAX_TRACKS)


class GenerateRequest(BaseModel):
    """POST /api/video/generate: a template by id or inline, the values of its placeholders."""

    model_config = ConfigDict(extra="forbid")

    template_id: str | None = Field(None, pattern=TEMPLATE_ID_PATTERN, description="A saved template.")
    template: dict[str, Any] | None = Field(
        None,
        description="An inline template: the seed's track form ({width, height, fps, duration, format, "
        "background, tracks: [{type: background|text|image|audio, ...}]}) or a video spec, either with "
        "{{placeholders}} in its strings.",
    )
    inputs: MergeValues = Field(
        default_factory=dict,
        max_length=MAX_PLACEHOLDERS,
        description="A value per placeholder; values are data, never template syntax.",
    )
    webhook_url: str | None = Field(
        None,
        max_length=4096,
        description="POSTed the job's result, signed (X-Videogen-Signature), at its end.",
    )

    @model_validator(mode="after")
    def _one_template(self) -> GenerateRequest:
        if (self.template_id is None) == (self.template is None):
            raise ValueError("give either template_id (a saved template) or template (inline)")
        return self


class GenerateAccepted(BaseModel):
    jobId: str
    status: Literal["queued"] = "queued"
    statusUrl: str
    cancelUrl: str
    websocketUrl: str = Field(description="WS /ws/jobs/{jobId}: one message per state change.")


class GenerateResult(BaseModel):
    videoUrl: str
    thumbnailUrl: str | None = None
    duration: float = Field(description="Seconds.")
    fileSize: int = Field(description="Bytes.")
    width: int | None = Field(None, description="None for a sound-only output (mp3, wav, m4a).")
    height: int | None = None
    format: str


class GenerateError(BaseModel):
    code: str
    message: str
    details: dict[str, object] = Field(default_factory=dict)


class WebhookDelivery(BaseModel):
    delivered: bool
    attempts: int
    statusCode: int | None = None


class GenerateStatus(BaseModel):
    """GET /api/video/status/{jobId}: status, progress, result, error (kept once failed)."""

    jobId: str
    status: JobStatus
    progress: float = Field(description="Percent, 0 to 100.")
    currentStep: str
    result: GenerateResult | None = None
    error: GenerateError | None = None
    templateId: str | None = None
    webhook: WebhookDelivery | None = Field(None, description="How delivering to webhook_url went.")
    createdAt: str | None = None
    updatedAt: str
    finishedAt: str | None = None
