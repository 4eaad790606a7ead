"""From a job's folded state to what GET, SSE and the dual POST answer show."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.errors import ErrorCode
from schemas.events import JobState
from schemas.responses import JobCompleted, JobFailed, JobProcessing, JobSummary, human_seconds, human_size


def iso(seconds: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC with milliseconds ("…Z")."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_view(state: JobState) -> JobCompleted | JobFailed | JobProcessing:
    seconds = round(state.processing_time_seconds, 2)
    if state.status == "completed" and state.result:
        r = state.result
        return JobCompleted(
            job_id=state.job_id,
            result_url=r.result_url,
            processing_time=human_seconds(seconds),
            processing_time_seconds=seconds,
            file_size=human_size(r.file_size_bytes),
            file_size_bytes=r.file_size_bytes,
            duration=f"{r.duration_seconds:.1f} seconds",
            duration_seconds=r.duration_seconds,
            width=r.width,
            height=r.height,
            output_format=r.output_format,
            thumbnail_url=r.thumbnail_url,
            poster_url=r.poster_url,
            captions_url=r.captions_url,
            captions_vtt_url=r.captions_vtt_url,
            transcript_url=r.transcript_url,
            words=r.words,
            chunks_reused=r.chunks_reused,
            chunks_rendered=r.chunks_rendered,
        )
    if state.status in ("failed", "cancelled"):
        code = state.error.code if state.error else ErrorCode.CANCELLED
        return JobFailed(
            status="cancelled" if state.status == "cancelled" else "failed",
            job_id=state.job_id,
            error=code,
            message=state.error.message if state.error else "the job was cancelled",
            details=state.error.details if state.error else {},
            processing_time=human_seconds(seconds),
            processing_time_seconds=seconds,
        )
    return JobProcessing(
        status="queued" if state.status == "queued" else "processing",
        job_id=state.job_id,
        progress=f"{state.progress_percent:.0f}%",
        progress_percent=round(state.progress_percent, 1),
        current_step=state.current_step,
        estimated_seconds=state.estimated_seconds,
        elapsed_seconds=seconds,
    )


def job_summary(state: JobState, status_check_endpoint: str) -> JobSummary:
    result = state.result
    submitted = iso(state.submitted_at_ms / 1000) if state.submitted_at_ms else None
    return JobSummary(
        job_id=state.job_id,
        status=state.status,
        submitted_at=submitted,
        output_format=result.output_format if result else None,
        progress_percent=round(state.progress_percent, 1),
        current_step=state.current_step,
        processing_time_seconds=round(state.processing_time_seconds, 2),
        result_url=result.result_url if result else None,
        file_size_bytes=result.file_size_bytes if result else None,
        duration_seconds=result.duration_seconds if result else None,
        error=state.error.code if state.error else None,
        status_check_endpoint=status_check_endpoint,
    )
