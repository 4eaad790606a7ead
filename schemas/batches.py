"""A batch of jobs answered by one callback (POST /internal/v1/process-clips): the item each job's
end becomes, the fold of a batch's items, and the callback body.

Each job of a batch carries a `BatchRef`. When the job ends, the notify stage publishes a
`BatchItemEnded` on `videogen.batches.items`, keyed by the batch id so that all of a batch's items
land on one partition; the batch agent folds them into a table keyed by batch id and, once every
item has ended, delivers one `ProcessingComplete` (agents/stages/batches.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from schemas.errors import ErrorCode
from schemas.events import BatchRef, CallbackDelivery, EndStatus, ErrorInfo, JobResult, ResultInfo, now


class BatchItemEnded(BaseModel):
    """One job of a batch has ended, on `videogen.batches.items` (key: batch id). `job_id` is None
    for an item the API could not submit at all (its error says why)."""

    batch: BatchRef
    job_id: str | None
    tenant: str | None = None
    status: EndStatus
    processing_time_seconds: float = 0.0
    result: ResultInfo | None = None
    error: ErrorInfo | None = None
    at: float = Field(default_factory=now)

    @classmethod
    def of(cls, ended: JobResult, batch: BatchRef) -> BatchItemEnded:
        return cls(
            batch=batch,
            job_id=ended.job_id,
            tenant=ended.tenant,
            status=ended.status,
            processing_time_seconds=ended.processing_time_seconds,
            result=ended.result,
            error=ended.error,
        )


class ClipError(BaseModel):
    code: ErrorCode
    message: str


class ClipOutcome(BaseModel):
    """One clip of the request as the callback reports it."""

    index: int = Field(description="The clip's place in the request's `clips` (0-based).")
    clip: str = Field(description="The clip's URL as sent.")
    job_id: str | None = Field(description="The clip's job (None when it was never submitted).")
    status: EndStatus
    output_url: str | None = None
    thumbnail_url: str | None = None
    duration_seconds: float | None = None
    file_size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    error: ClipError | None = None


class ProcessingComplete(BaseModel):
    """The one callback of a process-clips request, POSTed (signed) once every clip has ended."""

    processing_id: str
    batch_id: str = Field(description="Unique per request (processing ids may repeat).")
    status: Literal["completed", "partial", "failed"] = Field(
        description="completed: every clip; failed: none; partial: some."
    )
    completed: int
    failed: int = Field(description="Clips that failed or were cancelled.")
    clips: list[ClipOutcome] = Field(description="In request order.")


class BatchState(BaseModel):
    """A batch as the fold of its items: the value of the `batches` table."""

    batch_id: str
    processing_id: str
    size: int
    tenant: str | None = None
    callback_url: str | None = None
    items: dict[int, BatchItemEnded] = Field(default_factory=dict, description="By index; first report wins.")
    callback: CallbackDelivery | None = Field(None, description="Set once the callback went out.")

    @property
    def complete(self) -> bool:
        return len(self.items) >= self.size


def fold_item(state: BatchState | None, item: BatchItemEnded) -> BatchState:
    """Add one item to its batch. The first report of an index is kept: a redelivered item, or a
    second end of one job, changes nothing."""
    ref = item.batch
    if state is None:
        state = BatchState(
            batch_id=ref.id,
            processing_id=ref.processing_id,
            size=ref.size,
            tenant=item.tenant,
            callback_url=ref.callback_url,
        )
    if ref.index in state.items:
        return state
    return state.model_copy(update={"items": {**state.items, ref.index: item}})


def _outcome(index: int, item: BatchItemEnded) -> ClipOutcome:
    result, error = item.result, item.error
    return ClipOutcome(
        index=index,
        clip=item.batch.item,
        job_id=item.job_id,
        status=item.status,
        output_url=result.result_url if result else None,
        thumbnail_url=result.thumbnail_url if result else None,
        duration_seconds=result.duration_seconds if result else None,
        file_size_bytes=result.file_size_bytes if result else None,
        width=result.width if result else None,
        height=result.height if result else None,
        error=ClipError(code=error.code, message=error.message) if error else None,
    )


def callback_body(state: BatchState) -> ProcessingComplete:
    clips = [_outcome(index, state.items[index]) for index in sorted(state.items)]
    completed = sum(1 for clip in clips if clip.status == "completed")
    failed = len(clips) - completed
    return ProcessingComplete(
        processing_id=state.processing_id,
        batch_id=state.batch_id,
        status="completed" if failed == 0 else "failed" if completed == 0 else "partial",
        completed=completed,
        failed=failed,
        clips=clips,
    )
