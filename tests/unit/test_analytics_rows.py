"""JobEvent → analytics rows: which events are transitions and what each row knows."""

from __future__ import annotations

from analytics.rows import JOB_TABLE, STAGE_TABLE, count_elements, job_row, rows_for, stage_row
from schemas.errors import ErrorCode
from schemas.events import (
    Ahead,
    CallbackDelivery,
    CallbackOutcome,
    ChunkReuse,
    Encoding,
    ErrorInfo,
    JobAccepted,
    JobEnded,
    RenderedFile,
    ResultInfo,
    StageFinished,
    StageProgress,
    StageStarted,
    Workload,
)
from schemas.spec import VideoSpec

AT = 1_763_700_000.0


def test_progress_ticks_are_not_rows() -> None:
    tick = StageProgress(job_id="vg_1", stage="render", progress_percent=40.0, at=AT)
    assert rows_for(tick, 30.0) == []
    start = StageStarted(job_id="vg_1", stage="render", attempt_id="a1", progress_percent=30.0, at=AT)
    assert rows_for(start, 30.0) == []


def test_a_finished_stage_is_a_completed_transition_with_its_span() -> None:
    event = StageFinished(job_id="vg_1", stage="fetch", bytes_in=2048, stage_seconds=1.5, at=AT)
    tables = [table for table, _ in rows_for(event, 30.0)]
    row = stage_row(event)
    assert tables == [STAGE_TABLE, JOB_TABLE]
    assert row["status"] == "completed"
    assert (row["started_at"], row["ended_at"], row["seconds"]) == (AT - 1.5, AT, 1.5)
    assert job_row(event, 30.0)["source_bytes"] == 2048


def test_accepted_event_carries_the_estimate_and_the_quick_decision() -> None:
    event = JobAccepted(
        job_id="vg_1",
        estimated_seconds=12.0,
        submitted_at_ms=int(AT * 1000),
        output_format="mp4",
        element_counts={"video": 2, "text": 1, "sticker": 4},
        at=AT,
    )
    row = job_row(event, 30.0)
    assert row["quick_path"] == 1 and row["quick_threshold_seconds"] == 30.0
    assert row["submitted_at"] == AT and row["estimated_seconds"] == 12.0
    assert (row["elements_video"], row["elements_text"]) == (2, 1)
    assert "elements_sticker" not in row and "status" not in row
    assert job_row(event, 10.0)["quick_path"] == 0


def test_accepted_event_carries_the_estimators_features() -> None:
    workload = Workload(pixel_seconds=10.0, layer_seconds=25.0, effects=2, stream_copy=True)
    ahead = Ahead(jobs=2.5, pixel_seconds=40.0, layer_seconds=90.0, effects=1.0, stream_copies=0.5)
    event = JobAccepted(
        job_id="vg_1",
        backlog=3,
        workers=2,
        workload=workload,
        ahead=ahead,
        at=AT,
    )
    row = job_row(event, 30.0)
    assert (row["backlog"], row["workers"]) == (3, 2)
    assert (row["pixel_seconds"], row["layer_seconds"], row["effects"], row["stream_copy"]) == (
        10.0,
        25.0,
        2,
        1,
    )
    assert [
        row[f"{name}_ahead"]
        for name in ("jobs", "pixel_seconds", "layer_seconds", "effects", "stream_copies")
    ] == [
        2.5,
        40.0,
        90.0,
        1.0,
        0.5,
    ]


def test_a_finished_render_says_whether_it_was_a_stream_copy() -> None:
    rendered = RenderedFile(
        path="/w/out.mp4",
        size_bytes=10,
        duration_seconds=6.0,
        width=1280,
        height=720,
        encoding=Encoding(video_codec="h264", fps=30.0, stream_copy=True),
    )
    event = StageFinished(job_id="vg_1", stage="render", stage_seconds=0.2, rendered=rendered, at=AT)
    assert job_row(event, 30.0)["stream_copied"] == 1


def test_a_finished_render_says_what_the_chunk_cache_saved() -> None:
    reuse = ChunkReuse(
        chunks_reused=9, chunks_rendered=1, reused_pixel_seconds=54.0, rendered_pixel_seconds=6.0
    )
    rendered = RenderedFile(
        path="/w/out.mp4", size_bytes=10, duration_seconds=60.0, width=1280, height=720, reuse=reuse
    )
    event = StageFinished(job_id="vg_1", stage="render", stage_seconds=0.2, rendered=rendered, at=AT)
    row = job_row(event, 30.0)
    assert (row["reused_pixel_seconds"], row["rendered_pixel_seconds"]) == (54.0, 6.0)


def test_terminal_events_end_the_job() -> None:
    result = ResultInfo(
        result_url="https://x/v.mp4",
        s3_key="k",
        file_size_bytes=5000,
        duration_seconds=8.0,
        width=1280,
        height=720,
        output_format="mp4",
    )
    done = job_row(JobEnded(job_id="vg_1", stage="notify", status="completed", result=result, at=AT), 30.0)
    assert done["status"] == "completed" and done["finished_at"] == AT
    assert (done["output_bytes"], done["width"], done["output_duration_seconds"]) == (5000, 1280, 8.0)
    error = ErrorInfo(code=ErrorCode.SOURCE_DOWNLOAD_FAILED, message="404")
    failed = JobEnded(job_id="vg_2", stage="fetch", status="failed", error=error, at=AT)
    assert job_row(failed, 30.0)["error_code"] == "SOURCE_DOWNLOAD_FAILED"
    assert job_row(failed, 30.0)["failed_stage"] == "fetch"
    assert stage_row(failed)["status"] == "failed" and stage_row(failed)["seconds"] is None


def test_a_callback_outcome_is_not_a_second_end() -> None:
    """It repeats the end's status minutes later: as a row it would replace the notify stage's,
    add a notify row to a failed job and move the job's finished_at to the delivery."""
    delivery = CallbackDelivery(delivered=False, attempts=5, error="503", at=AT + 300)
    outcome = CallbackOutcome(job_id="vg_2", status="failed", callback=delivery, at=AT + 300)
    assert rows_for(outcome, 30.0) == []


def test_count_elements_by_type() -> None:
    spec = VideoSpec.model_validate(
        {
            "output_format": "mp4",
            "width": 640,
            "height": 360,
            "elements": [
                {"type": "video", "source": "https://example.com/a.mp4"},
                {"type": "text", "text": "hi", "duration": 2},
                {"type": "text", "text": "there", "duration": 2},
            ],
        }
    )
    assert count_elements(spec) == {"video": 1, "text": 2}
