"""The compositions API's payloads: a timeline of clips, audio and text overlays, and what the
status, metadata and WebSocket answers show.

A composition is translated into an ordinary `VideoSpec` (api/compositions.py) and runs as a job
like any other. Times are plain numbers here, not bounded: a negative or out-of-order time is a
timeline error (INVALID_TIMELINE, checked with the clips' order in view), not a type error.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import JsonDict

from schemas.errors import ErrorCode
from schemas.events import ChunkReuse, Encoding, JobStatus, MediaSummary, ProbedInput
from schemas.spec import RESOLUTION_PRESETS, Color, TransitionType

MAX_CLIPS = 50
MAX_OVERLAYS = 48  # with the clips and two audio tracks, within a spec's 100 elements
# What api/compositions.py's format check lets through (http, https or s3, any case), documented so
# that a client generated from the schema does not send "0"; the extension check stays the API's.
MEDIA_URL_PATTERN = r"^(?:[Hh][Tt][Tt][Pp][Ss]?|[Ss]3)://"
MEDIA_URL: JsonDict = {"pattern": MEDIA_URL_PATTERN}


class CompositionClip(BaseModel):
    """One clip on the composition's single video track, played in list order."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        ...,
        min_length=1,
        max_length=4096,
        json_schema_extra=MEDIA_URL,
        description="http(s) or s3:// URL of a video (not an image, audio or document file).",
    )
    start_time: float | None = Field(
        None,
        description="Where the clip starts in the output, seconds; default: where the previous one ends.",
    )
    end_time: float | None = Field(
        None,
        description="Where the clip ends in the output, seconds; default: start_time + trim_end - "
        "trim_start, else where the next clip starts, else (last clip) the clip's own end.",
    )
    trim_start: float = Field(0.0, description="Seconds skipped at the start of the source.")
    trim_end: float | None = Field(None, description="Source time where the clip stops.")
    transition_in: TransitionType | Literal["none"] | None = Field(
        None,
        description="Transition from the previous clip (its last frame is held meanwhile); on the first "
        "clip any transition is a fade in from black.",
    )
    transition_duration: float = Field(0.5, gt=0, le=10, description="Seconds the transition lasts.")


class CompositionAudio(BaseModel):
    """Music under the whole video (looped to its length) and a voice-over that ducks it."""

    model_config = ConfigDict(extra="forbid")

    music_url: str | None = Field(None, min_length=1, max_length=4096, json_schema_extra=MEDIA_URL)
    voiceover_url: str | None = Field(None, min_length=1, max_length=4096, json_schema_extra=MEDIA_URL)
    music_volume: float = Field(1.0, ge=0, le=10, description="Linear gain.")
    voiceover_volume: float = Field(1.0, ge=0, le=10, description="Linear gain.")


class OverlayPosition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: Literal["center"] | float = Field("center", description="'center', or pixels from the left edge.")
    y: Literal["center"] | float = Field("center", description="'center', or pixels from the top edge.")


class OverlayStyle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    font: str | None = Field(None, max_length=4096, description="Font family, or a font file URL.")
    size: float = Field(48.0, ge=1, le=2000, description="Pixels.")
    color: Color = "#ffffff"
    shadow: bool = False


class CompositionOverlay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["text"] = "text"
    content: str = Field(..., min_length=1, max_length=5000)
    position: OverlayPosition = Field(default_factory=OverlayPosition)
    start_time: float = Field(0.0, description="Seconds into the output.")
    duration: float | None = Field(None, description="Seconds; default: until the video ends.")
    style: OverlayStyle = Field(default_factory=OverlayStyle)


class CompositionOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: str = Field("720p", description=f"One of {', '.join(RESOLUTION_PRESETS)}.")
    fps: float = Field(30.0, gt=0, le=120)
    crf: int = Field(21, ge=0, le=51, description="H.264 (VP9 for webm) constant rate factor.")
    format: Literal["mp4", "webm", "mov"] = "mp4"

    @field_validator("resolution")
    @classmethod
    def _known(cls, value: str) -> str:
        if value.lower() not in RESOLUTION_PRESETS:
            raise ValueError(f"unknown resolution {value!r}; use one of {', '.join(RESOLUTION_PRESETS)}")
        return value.lower()


class CompositionRequest(BaseModel):
    """The body of POST /api/v1/compositions."""

    model_config = ConfigDict(extra="forbid")

    clips: list[CompositionClip] = Field(..., min_length=1, max_length=MAX_CLIPS)
    audio: CompositionAudio | None = None
    overlays: list[CompositionOverlay] = Field(default_factory=list, max_length=MAX_OVERLAYS)
    output: CompositionOutput = Field(default_factory=CompositionOutput)
    callback_url: str | None = Field(
        None, max_length=4096, description="POSTed the result (signed) when the composition ends."
    )


class CompositionAccepted(BaseModel):
    composition_id: str
    status: Literal["queued"] = "queued"
    created_at: str = Field(description="ISO-8601 UTC.")
    estimated_duration: int = Field(description="Expected processing time, seconds.")
    websocket_url: str


class CompositionProgress(BaseModel):
    stage: str = Field(examples=["encoding"])
    percentage: float
    message: str


class CompositionError(BaseModel):
    code: ErrorCode
    message: str
    cause: ErrorCode | None = Field(
        None, description="The specific code under a broad one (FFMPEG_ERROR under PROCESSING_FAILED)."
    )


class CompositionStatus(BaseModel):
    composition_id: str
    status: JobStatus
    progress: CompositionProgress
    created_at: str | None
    updated_at: str
    output_url: str | None = None
    thumbnail_url: str | None = None
    error: CompositionError | None = None


class StageTiming(BaseModel):
    started_at: str | None
    finished_at: str | None
    seconds: float | None
    attempts: int
    worker: str | None


class CompositionOutputInfo(MediaSummary):
    url: str | None = None
    thumbnail_url: str | None = None


class CompositionMetadata(BaseModel):
    composition_id: str
    status: JobStatus
    created_at: str | None
    processing_seconds: float
    stages: dict[str, StageTiming] = Field(description="Each pipeline stage's last attempt.")
    inputs: list[ProbedInput] = Field(description="Each source as fetched and probed (after render).")
    output: CompositionOutputInfo | None = Field(None, description="The rendered file (after render).")
    encoder: Encoding | None = Field(None, description="The settings the render used (after render).")
    reuse: ChunkReuse | None = Field(
        None,
        description="How much of the picture the chunk cache gave and how much was rendered (after render).",
    )


class WsProgress(BaseModel):
    stage: str
    percentage: float
    message: str
    timestamp: str


class WsCompleted(BaseModel):
    composition_id: str
    status: Literal["completed"] = "completed"
    output_url: str
    thumbnail_url: str | None
    timestamp: str


class WsFailed(BaseModel):
    code: ErrorCode
    message: str
    cause: ErrorCode | None = None
    timestamp: str


class WsMessage(BaseModel):
    """One message of WS /ws/compositions/{id}."""

    type: Literal["progress", "completed", "failed"]
    data: WsProgress | WsCompleted | WsFailed
