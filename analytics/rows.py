"""JobEvent → analytics rows. Stateless, so any worker can map any event and a replay maps the same.

A transition is an event that queues a job, ends a stage's work (it carries `stage_seconds`) or ends
the job; progress ticks in between are not stored. Each transition gives one `stage_transitions` row
and one partial `jobs` row holding just what this event knows (see migrations/0002_jobs.sql).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from schemas.events import TERMINAL, JobEvent
from schemas.spec import VideoSpec

STAGE_TABLE = "stage_transitions"
JOB_TABLE = "jobs"
ELEMENT_TYPES = ("video", "image", "text", "audio", "color")

Row = dict[str, Any]


def count_elements(spec: VideoSpec) -> dict[str, int]:
    """What `JobEvent.element_counts` should hold for a spec."""
    return dict(Counter(element.type for element in spec.elements))


def is_transition(event: JobEvent) -> bool:
    return event.status in TERMINAL or event.status == "queued" or event.stage_seconds is not None


def stage_row(event: JobEvent) -> Row:
    seconds = event.stage_seconds
    return {
        "event_id": event.event_id,
        "job_id": event.job_id,
        "tenant": event.tenant or "",
        "request_id": event.request_id or "",
        "stage": event.stage,
        "status": "completed" if event.status == "processing" else event.status,
        "started_at": event.at - seconds if seconds is not None else None,
        "ended_at": event.at,
        "seconds": seconds,
        "bytes_in": event.bytes_in,
        "bytes_out": event.bytes_out,
        "error_code": str(event.error.code) if event.error else "",
        "output_format": event.output_format or "",
    }


def job_row(event: JobEvent, quick_threshold_seconds: float) -> Row:
    """The columns of the job's row this event knows; the table keeps the rest from other events."""
    row: Row = {
        "job_id": event.job_id,
        "tenant": event.tenant,
        "request_id": event.request_id,
        "estimated_seconds": event.estimated_seconds,
        "output_format": event.output_format,
        "submitted_at": event.submitted_at_ms / 1000 if event.submitted_at_ms is not None else None,
    }
    if event.stage == "accepted":
        row.update(backlog=event.backlog, workers=event.workers)
        if event.workload is not None:
            row.update(event.workload.model_dump(), stream_copy=int(event.workload.stream_copy))
        if event.ahead is not None:
            row.update({f"{name}_ahead": value for name, value in event.ahead.model_dump().items()})
    if event.rendered is not None and event.rendered.encoding is not None:
        row["stream_copied"] = int(event.rendered.encoding.stream_copy)
    if event.stage == "accepted" and event.estimated_seconds is not None:
        # The API's own rule: held for a 200 when the estimate is within the quick threshold.
        row["quick_path"] = int(event.estimated_seconds <= quick_threshold_seconds)
        row["quick_threshold_seconds"] = quick_threshold_seconds
    if event.stage == "fetch" and event.bytes_in is not None:
        row["source_bytes"] = event.bytes_in
    for kind, count in (event.element_counts or {}).items():
        if kind in ELEMENT_TYPES:
            row[f"elements_{kind}"] = count
    if event.status in TERMINAL:
        row.update(status=event.status, finished_at=event.at)
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


def rows_for(event: JobEvent, quick_threshold_seconds: float) -> list[tuple[str, Row]]:
    """(table, row) pairs for one event; none for a progress tick."""
    if not is_transition(event):
        return []
    return [(STAGE_TABLE, stage_row(event)), (JOB_TABLE, job_row(event, quick_threshold_seconds))]
