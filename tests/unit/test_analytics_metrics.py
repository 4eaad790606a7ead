"""Prometheus metrics fed by job events, the API's /metrics route, and the agent's event handling."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client import REGISTRY

from analytics import metrics
from api.metrics import metrics_handler
from schemas.errors import ErrorCode
from schemas.events import (
    CallbackDelivery,
    CallbackOutcome,
    ErrorInfo,
    JobAccepted,
    JobEnded,
    StageFinished,
    StageProgress,
)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_events_feed_job_stage_upload_and_fetch_metrics() -> None:
    before = {
        "queued": value("videogen_jobs_total", status="queued"),
        "processing": value("videogen_jobs_total", status="processing"),
        "uploads": value("videogen_s3_uploads_total", outcome="success"),
        "failures": value("videogen_s3_uploads_total", outcome="failure"),
        "fetched": value("videogen_fetched_bytes_total"),
        "fetch_count": value("videogen_stage_duration_seconds_count", stage="fetch"),
    }
    metrics.observe_event(JobAccepted(job_id="vg_m"))
    metrics.observe_event(StageFinished(job_id="vg_m", stage="validate", stage_seconds=0.1))
    metrics.observe_event(StageFinished(job_id="vg_m", stage="fetch", bytes_in=700, stage_seconds=2))
    metrics.observe_event(StageProgress(job_id="vg_m", stage="render", progress_percent=30))
    metrics.observe_event(StageFinished(job_id="vg_m", stage="upload", stage_seconds=1))
    metrics.observe_event(
        JobEnded(
            job_id="vg_n",
            stage="upload",
            status="failed",
            error=ErrorInfo(code=ErrorCode.S3_ACCESS_DENIED, message="denied"),
        )
    )
    assert value("videogen_jobs_total", status="queued") == before["queued"] + 1
    assert value("videogen_jobs_total", status="processing") == before["processing"] + 1
    assert value("videogen_fetched_bytes_total") == before["fetched"] + 700
    assert value("videogen_stage_duration_seconds_count", stage="fetch") == before["fetch_count"] + 1
    assert value("videogen_s3_uploads_total", outcome="success") == before["uploads"] + 1
    assert value("videogen_s3_uploads_total", outcome="failure") == before["failures"] + 1
    assert value("videogen_job_errors_total", code="S3_ACCESS_DENIED", stage="upload") >= 1


def test_a_job_with_a_callback_is_counted_once() -> None:
    before = value("videogen_jobs_total", status="completed")
    metrics.observe_event(JobEnded(job_id="vg_c", stage="notify", status="completed"))
    delivery = CallbackDelivery(delivered=True, attempts=1)
    metrics.observe_event(CallbackOutcome(job_id="vg_c", status="completed", callback=delivery))
    assert value("videogen_jobs_total", status="completed") == before + 1


def test_quick_response_ratio_and_ffmpeg_gauge() -> None:
    metrics.observe_answer("quick")
    metrics.observe_answer("async")
    quick, slow = (
        value("videogen_api_answers_total", kind="quick"),
        value("videogen_api_answers_total", kind="async"),
    )
    assert value("videogen_quick_response_ratio") == quick / (quick + slow)
    with metrics.track_ffmpeg():
        assert value("videogen_ffmpeg_processes") == 1
    assert value("videogen_ffmpeg_processes") == 0


def test_consumer_lag_forgets_topics_no_longer_read() -> None:
    metrics.set_consumer_lag({"videogen.jobs.requested": 5, "videogen.jobs.events": 2})
    metrics.set_consumer_lag({"videogen.jobs.events": 0})
    assert REGISTRY.get_sample_value("videogen_consumer_lag", {"topic": "videogen.jobs.requested"}) is None
    assert value("videogen_consumer_lag", topic="videogen.jobs.events") == 0


def test_api_metrics_route_serves_prometheus_text() -> None:
    with TestClient(Litestar([metrics_handler])) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "videogen_jobs_total" in response.text


def test_the_agent_turns_transitions_into_rows_and_skips_ticks() -> None:
    from agents import analytics as agent

    pending = agent.sink.pending
    agent.record(StageProgress(job_id="vg_r", stage="render", progress_percent=10))
    assert agent.sink.pending == pending
    agent.record(StageFinished(job_id="vg_r", stage="render", stage_seconds=3))
    assert agent.sink.pending == pending + 2  # a stage_transitions row and a jobs row
