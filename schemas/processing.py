"""The payloads of POST /internal/v1/process-clips (seed 004 §5.2): raw clips from an upstream
service, each normalized (and graded, thumbnailed) into its own output, and one callback for all.

The callback's body is `schemas.batches.ProcessingComplete`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.batches import ClipError
from schemas.compositions import MEDIA_URL
from schemas.spec import ColorPreset

# Each clip is a job of its own; this bounds one request's share of the queue (MAX_QUEUED_JOBS)
# and stays within the default per-tenant cap (MAX_JOBS_IN_FLIGHT_PER_TENANT, 20).
MAX_CLIPS_PER_REQUEST = 20
DEFAULT_COLOR_PRESET: ColorPreset = "vivid"

Operation = Literal["normalize", "color_correct", "thumbnail"]
ClipUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4096,
        json_schema_extra=MEDIA_URL,
        description="http(s) or s3:// URL of a video (not an image, audio or document file).",
    ),
]


class ProcessClipsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    processing_id: str = Field(..., min_length=1, max_length=128, description="The caller's id, echoed back.")
    clips: list[ClipUrl] = Field(..., min_length=1, max_length=MAX_CLIPS_PER_REQUEST)
    operations: list[Operation] = Field(
        ...,
        min_length=1,
        description="normalize (required): 1280x720 fitted inside black bars, 30 fps, H.264 CRF 21, AAC; "
        "color_correct: the color_preset; thumbnail: a JPEG next to each output.",
    )
    color_preset: ColorPreset | None = Field(
        None, description=f"The grade color_correct applies; default {DEFAULT_COLOR_PRESET}."
    )
    callback_url: str = Field(
        ..., min_length=1, max_length=4096, description="POSTed once (signed) when every clip has ended."
    )


class ClipJob(BaseModel):
    index: int
    clip: str
    job_id: str | None = Field(description="None when the clip could not be queued (see error).")
    status: Literal["queued", "failed"]
    status_check_endpoint: str | None = None
    error: ClipError | None = None


class ProcessClipsAccepted(BaseModel):
    processing_id: str
    batch_id: str = Field(description="This request's batch; the callback names it too.")
    status: Literal["processing"] = "processing"
    clips: list[ClipJob] = Field(description="In request order.")
