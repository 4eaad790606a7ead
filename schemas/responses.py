"""HTTP response bodies (the PRD shapes). Every figure given as text has a numeric twin."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from schemas.errors import ErrorCode
from schemas.events import JobStatus, TranscribedWord


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}MB"
    if size >= 1024:
        return f"{size / 1024:.1f}KB"
    return f"{size}B"


def human_seconds(seconds: float) -> str:
    return f"{round(seconds)} seconds" if seconds >= 10 else f"{seconds:.1f} seconds"


class JobCompleted(BaseModel):
    status: Literal["completed"] = "completed"
    job_id: str
    result_url: str
    processing_time: str = Field(examples=["18 seconds"])
    processing_time_seconds: float
    file_size: str = Field(examples=["15.2MB"])
    file_size_bytes: int
    duration: str = Field(examples=["10.0 seconds"])
    duration_seconds: float
    width: int | None = Field(None, description="None for an audio-only output (mp3, wav, m4a).")
    height: int | None = None
    output_format: str
    thumbnail_url: str | None = Field(None, description="The small JPEG, when the spec asked for one.")
    poster_url: str | None = Field(None, description="The full-size JPEG, when the spec asked for one.")
    captions_url: str | None = Field(
        None, description="The transcript of a subtitles element's `transcribe` as SRT, if the spec has one."
    )
    captions_vtt_url: str | None = Field(None, description="The same transcript as WebVTT.")
    transcript_url: str | None = Field(None, description="Its words with their times, as JSON.")
    words: list[TranscribedWord] | None = Field(
        None,
        description="The first 1000 words of the transcript, on the output's clock (all: transcript_url).",
    )
    chunks_reused: int = Field(0, description="Chunks of picture copied from the chunk cache, not rendered.")
    chunks_rendered: int = Field(0, description="Chunks of picture rendered; 0 for a render in one pass.")
    message: str = "Video created successfully"


class JobAccepted(BaseModel):
    """Answer to a POST whose job will take longer than the quick-response threshold."""

    status: Literal["processing"] = "processing"
    job_id: str
    message: str
    estimated_completion: str = Field(description="ISO-8601 UTC time the job is expected to end.")
    estimated_seconds: float
    status_check_endpoint: str
    events_endpoint: str


class JobProcessing(BaseModel):
    status: Literal["queued", "processing"]
    job_id: str
    progress: str = Field(examples=["65%"])
    progress_percent: float
    current_step: str
    estimated_seconds: float | None = None
    elapsed_seconds: float


class JobFailed(BaseModel):
    status: Literal["failed", "cancelled"]
    job_id: str
    error: ErrorCode
    message: str
    details: dict[str, object] = Field(default_factory=dict)
    processing_time: str
    processing_time_seconds: float


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str
    details: dict[str, object] = Field(default_factory=dict)
    request_id: str | None = None
    timestamp: str


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class ComponentHealth(BaseModel):
    status: Literal["healthy", "unhealthy"]
    detail: str = ""
    latency_ms: float | None = None


class Health(BaseModel):
    status: Literal["healthy", "unhealthy"]


class DetailedHealth(BaseModel):
    status: Literal["healthy", "unhealthy"]
    components: dict[str, ComponentHealth]


class JobSummary(BaseModel):
    """One job in a history list: enough to show it in a table and to know where to look next."""

    job_id: str
    status: JobStatus
    submitted_at: str | None = Field(None, description="ISO 8601, UTC.")
    output_format: str | None = None
    progress_percent: float
    current_step: str
    processing_time_seconds: float
    result_url: str | None = None
    file_size_bytes: int | None = None
    duration_seconds: float | None = None
    error: ErrorCode | None = None
    status_check_endpoint: str


class JobHistory(BaseModel):
    """GET /api/v1/videos: the caller's jobs, newest first."""

    jobs: list[JobSummary]
    total: int | None = Field(
        None,
        description="Jobs matching the filter, on all pages: known on the last page only (counting them "
        "all would mean reading every job ever run); null while `next_offset` is set.",
    )
    limit: int
    offset: int
    next_offset: int | None = Field(None, description="Offset of the next page; null on the last.")
