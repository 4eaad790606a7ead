"""Everything that crosses Kafka, and the fold of job events into a job's state.

The stage messages all carry a `JobContext`, so any stage can fail the job, and a stage
that finds a predecessor's artifact missing can redo that work from the context alone.
"""

from __future__ import annotations

import time
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.errors import ErrorCode
from schemas.spec import VideoSpec

JobStatus = Literal["queued", "processing", "completed", "failed", "cancelled"]
Stage = Literal["accepted", "validate", "fetch", "render", "upload", "notify"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


def now() -> float:
    return time.time()


class JobRequested(BaseModel):
    """The contract for upstream producers on `videogen.jobs.requested` (and what the API sends)."""

    model_config = ConfigDict(extra="forbid")

    job_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_\-]{1,64}$",
        description="Omit to get a deterministic id from topic/partition/offset.",
    )
    tenant: str | None = Field(None, max_length=128)
    callback_url: str | None = Field(
        None, max_length=4096, description="POSTed the result when the job ends."
    )
    request_id: str | None = Field(None, max_length=128, description="Correlates logs with the request.")
    submitted_at_ms: int | None = Field(None, description="Submission time, ms since the epoch.")
    estimated_seconds: float | None = Field(None, description="Set by the API; recomputed when missing.")
    spec: VideoSpec


class JobContext(BaseModel):
    """What every stage knows about a job; carried in each stage-to-stage message."""

    job_id: str
    tenant: str | None = None
    request_id: str | None = None
    callback_url: str | None = None
    submitted_at_ms: int
    estimated_seconds: float
    spec: VideoSpec


class SourceFile(BaseModel):
    """A fetched source on the worker's disk, with what probing found."""

    url: str
    path: str
    size_bytes: int
    content_type: str | None = None


class JobValidated(BaseModel):
    ctx: JobContext


class JobFetched(BaseModel):
    ctx: JobContext
    sources: dict[str, SourceFile] = Field(description="Element index (as a string) to its local file.")
    worker: str


class JobRendered(BaseModel):
    ctx: JobContext
    sources: dict[str, SourceFile] = Field(description="Carried so upload can re-render on another worker.")
    output_path: str
    size_bytes: int
    duration_seconds: float
    width: int
    height: int
    worker: str
    render_seconds: float


class ResultInfo(BaseModel):
    result_url: str
    s3_key: str
    file_size_bytes: int
    duration_seconds: float
    width: int
    height: int
    output_format: str


class JobUploaded(BaseModel):
    ctx: JobContext
    result: ResultInfo


class ErrorInfo(BaseModel):
    code: ErrorCode
    message: str
    details: dict[str, object] = Field(default_factory=dict)


class CallbackDelivery(BaseModel):
    """How delivering a job's result to its callback_url went."""

    delivered: bool
    attempts: int
    status_code: int | None = None
    error: str | None = None
    at: float = Field(default_factory=now)


class JobEvent(BaseModel):
    """One state change of one job, on `videogen.jobs.events`."""

    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    job_id: str
    tenant: str | None = None
    request_id: str | None = None
    at: float = Field(default_factory=now)
    stage: Stage
    status: JobStatus
    progress_percent: float = 0.0
    current_step: str = ""
    estimated_seconds: float | None = None
    submitted_at_ms: int | None = None
    output_format: str | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None
    stage_seconds: float | None = None
    element_counts: dict[str, int] | None = Field(
        None, description="Elements of the spec by type; set where the spec is at hand (accepted, validate)."
    )
    worker: str | None = Field(None, description="The worker that emitted the event.")
    backlog: int | None = Field(
        None, description="Jobs unfinished when this one was accepted (accepted events)."
    )
    callback: CallbackDelivery | None = None
    result: ResultInfo | None = None
    error: ErrorInfo | None = None


class JobResult(BaseModel):
    """A terminal outcome, on `videogen.jobs.results`."""

    job_id: str
    tenant: str | None = None
    status: Literal["completed", "failed", "cancelled"]
    processing_time_seconds: float
    callback_url: str | None = None
    result: ResultInfo | None = None
    error: ErrorInfo | None = None


class DeadLetter(BaseModel):
    """A message no stage could use, on `videogen.jobs.dlq`, with why."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: str = Field(description="The message as received (UTF-8, replacement characters for bad bytes).")
    reason: str
    job_id: str | None = None
    at: float = Field(default_factory=now)


class JobState(BaseModel):
    """A job as the fold of its events: what GET and SSE report."""

    job_id: str
    tenant: str | None = None
    status: JobStatus = "queued"
    stage: Stage = "accepted"
    progress_percent: float = 0.0
    current_step: str = "queued"
    submitted_at_ms: int | None = None
    estimated_seconds: float | None = None
    updated_at: float = Field(default_factory=now)
    started_at: float | None = None
    finished_at: float | None = None
    result: ResultInfo | None = None
    error: ErrorInfo | None = None
    callback: CallbackDelivery | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def processing_time_seconds(self) -> float:
        start = self.submitted_at_ms / 1000 if self.submitted_at_ms else self.started_at or self.updated_at
        end = self.finished_at or now()
        return max(0.0, end - start)


def apply_event(state: JobState | None, event: JobEvent) -> JobState:
    """Fold one event into a job's state. Terminal states are final and progress never goes back,
    so redelivered or reordered events cannot undo what a client has already seen."""
    if state is None:
        state = JobState(job_id=event.job_id, tenant=event.tenant, started_at=event.at)
    if state.terminal:
        return state.model_copy(update={"callback": event.callback}) if event.callback else state
    update: dict[str, object] = {"updated_at": event.at, "stage": event.stage}
    if event.tenant and not state.tenant:
        update["tenant"] = event.tenant
    if event.submitted_at_ms is not None and state.submitted_at_ms is None:
        update["submitted_at_ms"] = event.submitted_at_ms
    if event.estimated_seconds is not None:
        update["estimated_seconds"] = event.estimated_seconds
    if event.status in TERMINAL or state.status == "queued":
        update["status"] = event.status
    update["progress_percent"] = max(state.progress_percent, event.progress_percent)
    if event.current_step:
        update["current_step"] = event.current_step
    if event.status in TERMINAL:
        update["finished_at"] = event.at
        update["result"] = event.result
        update["error"] = event.error
        if event.status == "completed":
            update["progress_percent"] = 100.0
    return state.model_copy(update=update)
