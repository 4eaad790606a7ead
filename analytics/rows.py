"""JobEvent → analytics rows. Stateless, so any worker can map any event and a replay maps the same.

A transition is an event that queues a job (`JobAccepted`), ends a stage's work (`StageFinished`,
with its `stage_seconds`) or ends the job (`JobEnded`); the starts and progress ticks in between are
not stored, nor a callback's outcome after the end (it repeats the end's status: taken for an end, it
replaced the notify stage's row, added a `notify` row to a failed job, and moved the job's
`finished_at` to the delivery, minutes later when it is retried). Each transition gives one
`stage_transitions` row and one partial `jobs` row holding just what this event knows (see
migrations/0002_jobs.sql).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from schemas.events import JobAccepted, JobEnded, JobEvent, StageFinished
from schemas.spec import VideoSpec

STAGE_TABLE = "stage_transitions"
JOB_TABLE = "jobs"
ELEMENT_TYPES = ("video", "image", "text", "audio", "color")

Row = dict[str, Any]


def count_elements(spec: VideoSpec) -> dict[str, int]:
    """What `element_counts` of `JobAccepted` (and validate's `StageFinished`) should hold for a spec."""
    return dict(Counter(element.type for element in spec.elements))


def is_transition(event: JobEvent) -> bool:
    match event:
        case JobAccepted() | JobEnded():
            return True
        case StageFinished():
            return event.stage_seconds is not None
        case _:
            return False


def stage_row(event: JobEvent) -> Row:
    seconds = event.stage_seconds if isinstance(event, StageFinished) else None
    row: Row = {
        "event_id": event.event_id,
        "job_id": event.job_id,
        "tenant": event.tenant or "",
        "request_id": event.request_id or "",
        "stage": event.stage,
        "status": "completed" if event.status == "processing" else event.status,
        "started_at": event.at - seconds if seconds is not None else None,
        "ended_at": event.at,
        "seconds": seconds,
        "bytes_in": None,
        "bytes_out": None,
        "error_code": "",
        "output_format": "",
    }
    match event:
        case JobAccepted():
            row.update(output_format=event.output_format or "")
        case StageFinished():
            row.update(
                bytes_in=event.bytes_in, bytes_out=event.bytes_out, output_format=event.output_format or ""
            )
        case JobEnded():
            row.update(
                bytes_out=event.bytes_out,
                error_code=str(event.error.code) if event.error else "",
                output_format=event.output_format or "",
            )
    return row


def job_row(event: JobEvent, quick_threshold_seconds: float) -> Row:
    """The columns of the job's row this event knows; the table keeps the rest from other events."""
    row: Row = {"job_id": event.job_id, "tenant": event.tenant, "request_id": event.request_id}
    match event:
        case JobAccepted():
            row.update(_what_the_job_is(event), backlog=event.backlog, workers=event.workers)
            if event.workload is not None:
                row.update(event.workload.model_dump(), stream_copy=int(event.workload.stream_copy))
            if event.ahead is not None:
                row.update({f"{name}_ahead": value for name, value in event.ahead.model_dump().items()})
            if event.estimated_seconds is not None:
                # The API's own rule: held for a 200 when the estimate is within the quick threshold.
                row["quick_path"] = int(event.estimated_seconds <= quick_threshold_seconds)
                row["quick_threshold_seconds"] = quick_threshold_seconds
        case StageFinished():
            row.update(_what_the_job_is(event))
            if event.rendered is not None and event.rendered.encoding is not None:
                row["stream_copied"] = int(event.rendered.encoding.stream_copy)
            if event.rendered is not None and event.rendered.reuse is not None:
                row["reused_pixel_seconds"] = event.rendered.reuse.reused_pixel_seconds
                row["rendered_pixel_seconds"] = event.rendered.reuse.rendered_pixel_seconds
            if event.stage == "fetch" and event.bytes_in is not None:
                row["source_bytes"] = event.bytes_in
        case JobEnded():
            row.update(output_format=event.output_format, status=event.status, finished_at=event.at)
            if event.error:
                row.update(error_code=str(event.error.code), failed_stage=event.stage)
            if event.result:
                result = event.result
                row.update(
                    output_format=result.output_format,
                    output_duration_seconds=result.duration_seconds,
                    output_bytes=result.file_size_bytes,
                    width=result.width,
                    height=result.height,
                )
    return {key: value for key, value in row.items() if value is not None}


def _what_the_job_is(event: JobAccepted | StageFinished) -> Row:
    """What the accepted event (or validate's finished one) says of the job."""
    row: Row = {
        "estimated_seconds": event.estimated_seconds,
        "output_format": event.output_format,
        "submitted_at": event.submitted_at_ms / 1000 if event.submitted_at_ms is not None else None,
    }
    for kind, count in (event.element_counts or {}).items():
        if kind in ELEMENT_TYPES:
            row[f"elements_{kind}"] = count
    return row


def rows_for(event: JobEvent, quick_threshold_seconds: float) -> list[tuple[str, Row]]:
    """(table, row) pairs for one event; none for a progress tick."""
    if not is_transition(event):
        return []
    return [(STAGE_TABLE, stage_row(event)), (JOB_TABLE, job_row(event, quick_threshold_seconds))]
