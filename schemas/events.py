"""Everything that crosses Kafka, and the fold of job events into a job's state.

The stage messages all carry a `JobContext`, so any stage can fail the job, and a stage
that finds a predecessor's artifact missing can redo that work from the context alone.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.errors import ErrorCode
from schemas.spec import VideoSpec

JobStatus = Literal["queued", "processing", "completed", "failed", "cancelled"]
Stage = Literal["accepted", "validate", "fetch", "render", "upload", "notify"]
StageStatus = Literal["started", "finished"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
# The order work flows in: a stage that has started means every stage before it handed off.
PIPELINE: tuple[Stage, ...] = ("validate", "fetch", "render", "upload", "notify")


def now() -> float:
    return time.time()


MAX_BATCH_SIZE = 100


class BatchRef(BaseModel):
    """The request a job is one item of (POST /internal/v1/process-clips): the job sends no
    callback of its own; its end is folded with its siblings' into one callback to `callback_url`
    (agents/stages/batches.py)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., pattern=r"^[A-Za-z0-9_\-]{1,64}$", description="Unique per request; the key.")
    processing_id: str = Field(..., max_length=128, description="The caller's id, echoed in the callback.")
    size: int = Field(..., ge=1, le=MAX_BATCH_SIZE, description="Jobs in the batch.")
    index: int = Field(..., ge=0, description="This job's place in the batch (0-based).")
    item: str = Field("", max_length=4096, description="What the caller sent for this job (a clip URL).")
    callback_url: str | None = Field(None, max_length=4096, description="POSTed once every job has ended.")

    @model_validator(mode="after")
    def _index_in_batch(self) -> BatchRef:
        if self.index >= self.size:
            raise ValueError(f"index {self.index} is outside a batch of {self.size}")
        return self


PromptStyle = Literal["fun", "calm", "background"]
AspectRatio = Literal["16:9", "9:16", "1:1", "4:3"]


class PromptInfo(BaseModel):
    """What POST /api/videos/generate asked for (seed 002), which GET /api/videos/{id} shows back."""

    prompt: str
    style: PromptStyle
    duration: float
    aspect_ratio: AspectRatio


class JobOrigin(BaseModel):
    """What a job was made from, kept with it so that the surface that made it can show it back."""

    template_id: str | None = Field(None, description="The saved template the job was rendered from.")
    prompt: PromptInfo | None = Field(None, description="The prompt of a prompt-to-video job.")


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
    batch: BatchRef | None = Field(None, description="Set when the job is one item of a batch request.")
    spec: VideoSpec


class JobContext(BaseModel):
    """What every stage knows about a job; carried in each stage-to-stage message."""

    job_id: str
    tenant: str | None = None
    request_id: str | None = None
    callback_url: str | None = None
    submitted_at_ms: int
    estimated_seconds: float
    batch: BatchRef | None = None
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


class MediaSummary(BaseModel):
    """A media file as probed: what it holds, not what was asked for."""

    kind: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    size_bytes: int | None = None


class ProbedInput(MediaSummary):
    """One source of a render as probed, named like errors name its element."""

    element: str
    url: str


class Encoding(BaseModel):
    """The encoder settings a render used (no video codec nor fps for an audio-only output)."""

    video_codec: str | None = None
    crf: int | None = None
    fps: float | None = None
    preset: str | None = None
    audio_codec: str | None = None
    audio_bitrate: str | None = None
    stream_copy: bool = False


class JobRendered(BaseModel):
    ctx: JobContext
    sources: dict[str, SourceFile] = Field(description="Carried so upload can re-render on another worker.")
    output_path: str
    thumbnail_path: str | None = Field(None, description="The small JPEG frame, when the spec asks for one.")
    poster_path: str | None = Field(None, description="The full-size JPEG frame, when the spec asks for one.")
    size_bytes: int
    duration_seconds: float
    width: int | None = Field(None, description="None for an audio-only output.")
    height: int | None = None
    worker: str
    render_seconds: float


class RenderedFile(BaseModel):
    """A finished render on a worker's disk: what the upload stage needs to store it, and what the
    render probed and used (the job's metadata, recorded on the render's finished event)."""

    path: str
    size_bytes: int
    duration_seconds: float
    width: int | None = None  # None for an audio-only output
    height: int | None = None
    thumbnail_path: str | None = None
    poster_path: str | None = None
    output: MediaSummary | None = None
    inputs: list[ProbedInput] = Field(default_factory=list)
    encoding: Encoding | None = None


class ResultInfo(BaseModel):
    result_url: str
    s3_key: str
    file_size_bytes: int
    duration_seconds: float
    width: int | None = Field(None, description="None for an audio-only output.")
    height: int | None = None
    output_format: str
    thumbnail_url: str | None = None
    thumbnail_s3_key: str | None = None
    poster_url: str | None = None
    poster_s3_key: str | None = None


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


class Workload(BaseModel):
    """What a job asks of a worker, as its spec tells it before any source is probed
    (media/workload.py): features the learning estimator fits, recorded on the accepted event so
    that it learns from what it knows when it estimates."""

    pixel_seconds: float = Field(
        description="Output seconds x pixels, in seconds of 720p (one frame for stills); 0 for a stream copy."
    )
    layer_seconds: float = Field(
        description="Seconds each visual element is on screen x output pixels, summed, in seconds of 720p; "
        "0 for a stream copy."
    )
    effects: int = Field(0, description="Transitions, effects and animations of the elements.")
    stream_copy: bool = Field(
        False, description="The spec qualifies for the stream-copy fast path (the sources must match too)."
    )


class Ahead(BaseModel):
    """The jobs unfinished when a job is accepted, each counted by the share of it still to do
    (1 - progress): their number and their workloads, summed. What holds the job up."""

    jobs: float = 0.0
    pixel_seconds: float = 0.0
    layer_seconds: float = 0.0
    effects: float = 0.0
    stream_copies: float = 0.0

    @classmethod
    def of(cls, unfinished: Iterable[tuple[Workload, float]]) -> Ahead:
        """The sum of (workload, share still to do) pairs."""
        pairs = list(unfinished)
        return cls(
            jobs=sum(share for _, share in pairs),
            pixel_seconds=sum(load.pixel_seconds * share for load, share in pairs),
            layer_seconds=sum(load.layer_seconds * share for load, share in pairs),
            effects=sum(load.effects * share for load, share in pairs),
            stream_copies=sum(load.stream_copy * share for load, share in pairs),
        )


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
    workers: int | None = Field(
        None, description="Live workers when this job was accepted (accepted events)."
    )
    workload: Workload | None = Field(None, description="What the spec asks of a worker (accepted events).")
    ahead: Ahead | None = Field(
        None, description="What was unfinished when the job was accepted (accepted events)."
    )
    callback: CallbackDelivery | None = None
    batch: BatchRef | None = Field(None, description="The batch the job belongs to (accepted, validate).")
    origin: JobOrigin | None = Field(None, description="What the job was made from (accepted events).")
    result: ResultInfo | None = None
    error: ErrorInfo | None = None
    stage_status: StageStatus | None = Field(
        None, description="Set when the event starts or finishes the work of `stage` (one attempt)."
    )
    attempt_id: str | None = Field(None, description="The stage attempt that emitted the event.")
    sources: dict[str, SourceFile] | None = Field(None, description="What a finished fetch downloaded.")
    rendered: RenderedFile | None = Field(None, description="What a finished render wrote.")


class JobResult(BaseModel):
    """A terminal outcome, on `videogen.jobs.results`."""

    job_id: str
    tenant: str | None = None
    status: Literal["completed", "failed", "cancelled"]
    processing_time_seconds: float
    callback_url: str | None = None
    batch: BatchRef | None = Field(None, description="Set on a batch's job: its end goes to the batch.")
    result: ResultInfo | None = None
    error: ErrorInfo | None = None


def job_ended(
    job_id: str,
    status: Literal["completed", "failed", "cancelled"],
    stage: Stage,
    processing_time_seconds: float,
    *,
    tenant: str | None = None,
    request_id: str | None = None,
    callback_url: str | None = None,
    batch: BatchRef | None = None,
    worker: str | None = None,
    result: ResultInfo | None = None,
    error: ErrorInfo | None = None,
) -> tuple[JobEvent, JobResult]:
    """The two messages that end a job, its terminal event and its result, built alike whoever
    ends it (a stage, the stalled-job check, the API's cancel)."""
    completed = result is not None and status == "completed"
    event = JobEvent(
        job_id=job_id,
        tenant=tenant,
        request_id=request_id,
        worker=worker,
        stage=stage,
        status=status,
        current_step=status,
        progress_percent=100.0 if completed else 0.0,
        stage_status="finished" if completed else None,
        result=result,
        output_format=result.output_format if result else None,
        bytes_out=result.file_size_bytes if result else None,
        error=error,
    )
    outcome = JobResult(
        job_id=job_id,
        tenant=tenant,
        status=status,
        processing_time_seconds=processing_time_seconds,
        callback_url=callback_url,
        batch=batch,
        result=result,
        error=error,
    )
    return event, outcome


class DeadLetter(BaseModel):
    """A message no stage could use, on `videogen.jobs.dlq`, with why."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: str = Field(
        description="The message as received (UTF-8, replacement characters for bad bytes); only an "
        "excerpt when `value_truncated`."
    )
    value_base64: str | None = Field(
        None, description="The exact bytes, base64, when they are not UTF-8 and the letter has room for them."
    )
    value_bytes: int = Field(0, description="Size of the message's value as received.")
    value_sha256: str | None = Field(None, description="SHA-256 of the value as received (hex).")
    value_truncated: bool = Field(
        False,
        description="The value was too big to dead-letter whole (KAFKA_MAX_MESSAGE_BYTES): the letter is a "
        "reference (topic, partition, offset, size, hash) with an excerpt.",
    )
    reason: str
    job_id: str | None = None
    at: float = Field(default_factory=now)


class StageRecord(BaseModel):
    """One stage of one job as its events tell it: who ran it, how often, and what it left."""

    status: StageStatus
    worker: str | None = None
    attempt_id: str | None = None
    attempts: int = Field(0, description="How many times the stage was started (redone after a crash: >1).")
    started_at: float | None = None
    finished_at: float | None = None
    sources: dict[str, SourceFile] | None = None
    rendered: RenderedFile | None = None


class JobState(BaseModel):
    """A job as the fold of its events: what GET and SSE report, and what stages need to skip
    work that is done (`stages`)."""

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
    batch: BatchRef | None = Field(None, description="The batch the job belongs to, if any.")
    origin: JobOrigin | None = Field(None, description="What the job was made from, if a surface said.")
    stages: dict[str, StageRecord] = Field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def finished(self, stage: Stage) -> StageRecord | None:
        record = self.stages.get(stage)
        return record if record is not None and record.status == "finished" else None

    def started_after(self, stage: Stage) -> bool:
        """True when a later stage has started: this one handed off and need not run again."""
        later = PIPELINE[PIPELINE.index(stage) + 1 :] if stage in PIPELINE else ()
        return any(name in self.stages for name in later)

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
    if event.batch is not None and state.batch is None:
        update["batch"] = event.batch
    if event.origin is not None and state.origin is None:
        update["origin"] = event.origin
    if event.estimated_seconds is not None:
        update["estimated_seconds"] = event.estimated_seconds
    if event.status in TERMINAL or state.status == "queued":
        update["status"] = event.status
    update["progress_percent"] = max(state.progress_percent, event.progress_percent)
    if event.current_step:
        update["current_step"] = event.current_step
    if event.stage_status is not None:
        update["stages"] = {**state.stages, event.stage: _fold_stage(state.stages.get(event.stage), event)}
    if event.status in TERMINAL:
        update["finished_at"] = event.at
        update["result"] = event.result
        update["error"] = event.error
        if event.status == "completed":
            update["progress_percent"] = 100.0
    return state.model_copy(update=update)


def _fold_stage(record: StageRecord | None, event: JobEvent) -> StageRecord:
    if event.stage_status == "started":
        return StageRecord(
            status="started",
            worker=event.worker,
            attempt_id=event.attempt_id,
            attempts=(record.attempts if record else 0) + 1,
            started_at=event.at,
        )
    base = record or StageRecord(status="finished", attempts=1, started_at=event.at)
    return base.model_copy(
        update={
            "status": "finished",
            "worker": event.worker,
            "attempt_id": event.attempt_id,
            "finished_at": event.at,
            "sources": event.sources,
            "rendered": event.rendered,
        }
    )
