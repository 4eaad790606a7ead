"""Everything that crosses Kafka, and the fold of job events into a job's state.

The stage messages all carry a `JobContext`, so any stage can fail the job, and a stage
that finds a predecessor's artifact missing can redo that work from the context alone.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, model_validator

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


class ChunkReuse(BaseModel):
    """How much of a render's picture was copied from the chunk cache and how much was drawn
    (docs/chunk-cache.md); pixel-seconds in seconds of 720p, like the job's workload."""

    chunks_reused: int = Field(0, description="Chunks of picture copied from the chunk cache.")
    chunks_rendered: int = Field(0, description="Chunks rendered; 0 for a render in one pass.")
    reused_pixel_seconds: float = Field(
        0.0, description="Output seconds times pixels copied, in seconds of 720p."
    )
    rendered_pixel_seconds: float = Field(0.0, description="Output seconds times pixels rendered, likewise.")


class JobRendered(BaseModel):
    ctx: JobContext
    sources: dict[str, SourceFile] = Field(description="Carried so upload can re-render on another worker.")
    output_path: str
    thumbnail_path: str | None = Field(None, description="The small JPEG frame, when the spec asks for one.")
    poster_path: str | None = Field(None, description="The full-size JPEG frame, when the spec asks for one.")
    captions_path: str | None = Field(
        None,
        description="The transcript as SRT (WebVTT and JSON words beside it), when the spec transcribes.",
    )
    size_bytes: int
    duration_seconds: float
    width: int | None = Field(None, description="None for an audio-only output.")
    height: int | None = None
    worker: str
    render_seconds: float
    reuse: ChunkReuse | None = Field(None, description="What of the picture the chunk cache gave.")


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
    captions_path: str | None = None
    output: MediaSummary | None = None
    inputs: list[ProbedInput] = Field(default_factory=list)
    encoding: Encoding | None = None
    reuse: ChunkReuse | None = None


MAX_RESULT_WORDS = 1000


class TranscribedWord(BaseModel):
    text: str
    start: float = Field(description="Seconds on the output's clock.")
    end: float


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
    captions_url: str | None = Field(
        None,
        description="The transcript of the spec's transcribing subtitles as SRT (key: captions_s3_key).",
    )
    captions_vtt_url: str | None = Field(None, description="The same transcript as WebVTT.")
    transcript_url: str | None = Field(None, description="The transcript's words with their times, as JSON.")
    captions_s3_key: str | None = None
    chunks_reused: int = Field(0, description="Chunks of picture copied from the chunk cache, not rendered.")
    chunks_rendered: int = Field(0, description="Chunks of picture rendered; 0 for a render in one pass.")
    words: list[TranscribedWord] | None = Field(
        None,
        description=f"The transcript's words on the output's clock; the first {MAX_RESULT_WORDS} (all are at "
        "transcript_url).",
    )


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


EndStatus = Literal["completed", "failed", "cancelled"]


class _JobEventBase(BaseModel):
    """What every job event says: which job, who said it and when, the stage it concerns, and the
    job's status as of the event. Each type below adds only what its kind of event carries, and
    folds itself into the job's state (`fold`, dispatched by `apply_event`)."""

    type: str = Field(description="The kind of event: the discriminator of `JobEvent`.")
    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    job_id: str
    tenant: str | None = None
    request_id: str | None = None
    at: float = Field(default_factory=now)
    stage: Stage
    status: JobStatus = Field(description="The job's status as of this event.")
    current_step: str = ""
    worker: str | None = Field(None, description="The worker that emitted the event.")

    def fold(self, state: JobState) -> JobState:
        """The job's state after this event: this type's step of the fold. `apply_event` calls it
        with the job's state (a new one for a job's first event), never an ended one but for a
        callback outcome."""
        raise NotImplementedError

    def _touch(self, state: JobState) -> dict[str, object]:
        """What any event of a running job changes: when it was last heard of, where it is, its
        first-seen tenant, its status while it is queued, and the step it is at."""
        update: dict[str, object] = {"updated_at": self.at, "stage": self.stage}
        if self.tenant and not state.tenant:
            update["tenant"] = self.tenant
        if state.status == "queued":
            update["status"] = self.status
        if self.current_step:
            update["current_step"] = self.current_step
        return update


def _first_seen(state: JobState, **values: object) -> dict[str, object]:
    """The values the job's state does not hold yet (what it was first told is kept)."""
    return {
        name: value for name, value in values.items() if value is not None and getattr(state, name) is None
    }


class JobAccepted(_JobEventBase):
    """The API accepted the job: its first event, published before its request. What it asked for,
    and what the API found ahead of it (the estimator's features)."""

    type: Literal["accepted"] = "accepted"
    stage: Literal["accepted"] = "accepted"
    status: Literal["queued"] = "queued"
    current_step: str = "queued"
    estimated_seconds: float | None = None
    submitted_at_ms: int | None = None
    output_format: str | None = None
    element_counts: dict[str, int] | None = Field(None, description="Elements of the spec by type.")
    backlog: int | None = Field(None, description="Jobs unfinished when this one was accepted.")
    workers: int | None = Field(None, description="Live workers when this job was accepted.")
    workload: Workload | None = Field(None, description="What the spec asks of a worker.")
    ahead: Ahead | None = Field(None, description="What was unfinished when the job was accepted.")
    batch: BatchRef | None = Field(None, description="The batch the job belongs to.")
    origin: JobOrigin | None = Field(None, description="What the job was made from.")

    def fold(self, state: JobState) -> JobState:
        update = self._touch(state)
        update |= _first_seen(
            state, submitted_at_ms=self.submitted_at_ms, batch=self.batch, origin=self.origin
        )
        if self.estimated_seconds is not None:
            update["estimated_seconds"] = self.estimated_seconds
        return state.model_copy(update=update)


class StageStarted(_JobEventBase):
    """An attempt of a stage began its work on a worker."""

    type: Literal["started"] = "started"
    status: Literal["processing"] = "processing"
    stage_status: Literal["started"] = "started"
    attempt_id: str | None = Field(None, description="The stage attempt that started.")
    progress_percent: float = 0.0

    def fold(self, state: JobState) -> JobState:
        update = self._touch(state)
        update["progress_percent"] = max(state.progress_percent, self.progress_percent)
        update["stages"] = {**state.stages, self.stage: _fold_stage(state.stages.get(self.stage), self)}
        return state.model_copy(update=update)


class StageProgress(_JobEventBase):
    """A stage's work goes on: how far the job is, the step, maybe a new estimate."""

    type: Literal["progress"] = "progress"
    status: Literal["processing"] = "processing"
    progress_percent: float = 0.0
    estimated_seconds: float | None = None

    def fold(self, state: JobState) -> JobState:
        update = self._touch(state)
        update["progress_percent"] = max(state.progress_percent, self.progress_percent)
        if self.estimated_seconds is not None:
            update["estimated_seconds"] = self.estimated_seconds
        return state.model_copy(update=update)


class StageFinished(_JobEventBase):
    """An attempt of a stage finished its work (its product is handed on next): how long it took,
    the bytes it read and wrote, and what later attempts may reuse. Validate's also carries what
    the job is (an upstream producer's job published straight to Kafka has no accepted event)."""

    type: Literal["finished"] = "finished"
    status: Literal["processing"] = "processing"
    stage_status: Literal["finished"] = "finished"
    attempt_id: str | None = Field(None, description="The stage attempt that finished (none for validate).")
    progress_percent: float = 0.0
    stage_seconds: float | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None
    sources: dict[str, SourceFile] | None = Field(None, description="What a finished fetch downloaded.")
    rendered: RenderedFile | None = Field(None, description="What a finished render wrote.")
    estimated_seconds: float | None = Field(None, description="Validate: the job's estimate.")
    submitted_at_ms: int | None = Field(None, description="Validate: the job's submission time.")
    output_format: str | None = Field(None, description="Validate: the job's output format.")
    element_counts: dict[str, int] | None = Field(None, description="Validate: elements of the spec by type.")
    batch: BatchRef | None = Field(None, description="Validate: the batch the job belongs to.")

    def fold(self, state: JobState) -> JobState:
        update = self._touch(state)
        update |= _first_seen(state, submitted_at_ms=self.submitted_at_ms, batch=self.batch)
        if self.estimated_seconds is not None:
            update["estimated_seconds"] = self.estimated_seconds
        update["progress_percent"] = max(state.progress_percent, self.progress_percent)
        update["stages"] = {**state.stages, self.stage: _fold_stage(state.stages.get(self.stage), self)}
        return state.model_copy(update=update)


class JobEnded(_JobEventBase):
    """The job ended: completed with its result, or failed or cancelled with why. Built by
    `job_ended` whoever ends the job; the first end folded is final."""

    type: Literal["ended"] = "ended"
    status: EndStatus
    progress_percent: float = Field(0.0, description="100 when completed.")
    stage_status: Literal["finished"] | None = Field(
        None, description="`finished` when the end completes the job: `stage` (notify) finished."
    )
    result: ResultInfo | None = None
    error: ErrorInfo | None = None
    output_format: str | None = None
    bytes_out: int | None = Field(None, description="The stored video's size, when completed.")

    def fold(self, state: JobState) -> JobState:
        update = self._touch(state)
        update["status"] = self.status
        progress = max(state.progress_percent, self.progress_percent)
        update["progress_percent"] = 100.0 if self.status == "completed" else progress
        if self.stage_status is not None:
            update["stages"] = {**state.stages, self.stage: _fold_stage(state.stages.get(self.stage), self)}
        update |= {"finished_at": self.at, "result": self.result, "error": self.error}
        return state.model_copy(update=update)


class CallbackOutcome(_JobEventBase):
    """How delivering an ended job's result to its callback_url (or its batch's) went; `status`
    repeats the job's end. The one event that still changes an ended job's state."""

    type: Literal["callback"] = "callback"
    stage: Stage = "notify"
    status: EndStatus
    current_step: str = "callback"
    callback: CallbackDelivery

    def fold(self, state: JobState) -> JobState:
        return state.model_copy(update={"callback": self.callback})


def legacy_event_type(data: Mapping[str, Any]) -> str:
    """The type of an event written before events had one (one flat model, most fields optional):
    what its fields say it was."""
    if data.get("callback") is not None:
        return "callback"  # repeats the terminal status: before the end test
    if data.get("status") in TERMINAL:
        return "ended"
    if data.get("stage") == "accepted":
        return "accepted"
    if data.get("stage_status") in ("started", "finished"):
        return str(data["stage_status"])
    return "progress"


def _typed(data: Any) -> Any:
    if isinstance(data, Mapping) and "type" not in data:
        return {**data, "type": legacy_event_type(data)}
    return data


JobEvent = Annotated[
    JobAccepted | StageStarted | StageProgress | StageFinished | JobEnded | CallbackOutcome,
    Field(
        discriminator="type",
        title="JobEvent",
        description="One state change of one job, on `videogen.jobs.events`, told apart by `type`. An "
        "event without `type` (written before events had types) is read as the type its fields say.",
    ),
    BeforeValidator(_typed),
]
"""One state change of one job, on `videogen.jobs.events`: one of the types above, told apart by
`type` (inferred from its fields for an event written before types, see `legacy_event_type`)."""

# Validates a `JobEvent`: decode one with `streams.codec.decode(JOB_EVENT, raw)`.
JOB_EVENT: TypeAdapter[JobEvent] = TypeAdapter(JobEvent)


class JobResult(BaseModel):
    """A terminal outcome, on `videogen.jobs.results`."""

    job_id: str
    tenant: str | None = None
    status: EndStatus
    processing_time_seconds: float
    callback_url: str | None = None
    batch: BatchRef | None = Field(None, description="Set on a batch's job: its end goes to the batch.")
    result: ResultInfo | None = None
    error: ErrorInfo | None = None


def job_ended(
    job_id: str,
    status: EndStatus,
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
) -> tuple[JobEnded, JobResult]:
    """The two messages that end a job, its terminal event and its result, built alike whoever
    ends it (a stage, the stalled-job check, the API's cancel)."""
    completed = result is not None and status == "completed"
    event = JobEnded(
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
    """Fold one event into a job's state: the event's own step (`fold` of its type). Terminal states
    are final (only a callback outcome still changes them) and progress never goes back, so
    redelivered or reordered events cannot undo what a client has already seen."""
    if state is None:
        state = JobState(job_id=event.job_id, tenant=event.tenant, started_at=event.at)
    if state.terminal and not isinstance(event, CallbackOutcome):
        return state
    return event.fold(state)


def _fold_stage(record: StageRecord | None, event: StageStarted | StageFinished | JobEnded) -> StageRecord:
    """The stage's record after an event that starts or finishes its work (one attempt)."""
    if isinstance(event, StageStarted):
        return StageRecord(
            status="started",
            worker=event.worker,
            attempt_id=event.attempt_id,
            attempts=(record.attempts if record else 0) + 1,
            started_at=event.at,
        )
    finished = event if isinstance(event, StageFinished) else None
    base = record or StageRecord(status="finished", attempts=1, started_at=event.at)
    return base.model_copy(
        update={
            "status": "finished",
            "worker": event.worker,
            "attempt_id": finished.attempt_id if finished else None,
            "finished_at": event.at,
            "sources": finished.sources if finished else None,
            "rendered": finished.rendered if finished else None,
        }
    )
