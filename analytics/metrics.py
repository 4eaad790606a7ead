"""Prometheus metrics of a videogen process, served on `/metrics` by the API and each worker.

Job figures come from the events themselves (`observe_event`, called by the analytics agent): every
event is consumed by exactly one worker's agent, so summing a metric over the workers counts each
job once. What only a process sees is recorded where it happens: answers by the API
(`observe_answer`), FFmpeg processes by the runner (`track_ffmpeg`), lag by the worker's page.
"""

from __future__ import annotations

import collections
from contextlib import AbstractContextManager
from typing import Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from schemas.events import JobAccepted, JobEnded, JobEvent, StageFinished

disable_created_metrics()  # the *_created series only add noise to every scrape

STAGE_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200)

JOBS = Counter(
    "videogen_jobs", "Jobs that reached a status: queued, processing (validated), or an end.", ["status"]
)
JOB_ERRORS = Counter(
    "videogen_job_errors", "Failed or cancelled jobs by error code and stage.", ["code", "stage"]
)
STAGE_SECONDS = Histogram(
    "videogen_stage_duration_seconds", "Time a stage spent on one job.", ["stage"], buckets=STAGE_BUCKETS
)
S3_UPLOADS = Counter("videogen_s3_uploads", "Uploads of rendered videos to S3.", ["outcome"])
FETCHED_BYTES = Counter("videogen_fetched_bytes", "Bytes of source media downloaded.")
ANSWERS = Counter("videogen_api_answers", "Answers to videocreate: quick (200) or async (202).", ["kind"])
QUICK_RATIO = Gauge("videogen_quick_response_ratio", "Share of videocreate answers that were quick (200).")
CONSUMER_LAG = Gauge(
    "videogen_consumer_lag", "Messages of a topic this worker has not yet fetched.", ["topic"]
)
FFMPEG_RUNNING = Gauge("videogen_ffmpeg_processes", "FFmpeg processes running in this process.")
API_EVENTS_FOLDED = Counter(
    "videogen_api_events_folded", "Job events this API instance has read (from its start offsets on)."
)
API_JOBS_HELD = Gauge("videogen_api_jobs_held", "Jobs in this API instance's memory.", ["kind"])
API_RECORD_READS = Counter(
    "videogen_api_record_reads", "Finished jobs' records read from the bucket, by outcome.", ["outcome"]
)
ANALYTICS_ROWS = Counter("videogen_analytics_rows", "Analytics rows inserted or dropped.", ["outcome"])
ANALYTICS_BUFFERED = Gauge("videogen_analytics_buffered_rows", "Analytics rows waiting for the store.")
ANALYTICS_INSERT_FAILURES = Counter("videogen_analytics_insert_failures", "Failed analytics inserts.")

_answers: collections.Counter[str] = collections.Counter()


def observe_event(event: JobEvent) -> None:
    """Count one job event (call once per event, where events are consumed once: the analytics agent).
    A callback's outcome repeats its job's end and is not counted again."""
    match event:
        case JobAccepted():
            JOBS.labels("queued").inc()
        case StageFinished():
            if event.stage == "validate":  # validate's one event: the job starts processing
                JOBS.labels("processing").inc()
            if event.stage_seconds is not None:
                STAGE_SECONDS.labels(event.stage).observe(event.stage_seconds)
                if event.stage == "upload":
                    S3_UPLOADS.labels("success").inc()
                if event.stage == "fetch" and event.bytes_in:
                    FETCHED_BYTES.inc(event.bytes_in)
        case JobEnded():
            JOBS.labels(event.status).inc()
            if event.error is not None:
                JOB_ERRORS.labels(str(event.error.code), event.stage).inc()
                if event.stage == "upload" and event.error.code.startswith("S3_"):
                    S3_UPLOADS.labels("failure").inc()


def observe_answer(kind: Literal["quick", "async"]) -> None:
    """Record how the API answered a videocreate: 200 with the result, or 202 with a job id."""
    ANSWERS.labels(kind).inc()
    _answers[kind] += 1
    QUICK_RATIO.set(_answers["quick"] / (_answers["quick"] + _answers["async"]))


def set_consumer_lag(lag_by_topic: dict[str, int]) -> None:
    """Replace the lag figures, so a topic this worker no longer reads does not keep a stale one."""
    CONSUMER_LAG.clear()
    for topic, lag in lag_by_topic.items():
        CONSUMER_LAG.labels(topic).set(lag)


def track_ffmpeg() -> AbstractContextManager[None]:
    """Wrap the lifetime of one FFmpeg process: `with track_ffmpeg(): ...`."""
    return FFMPEG_RUNNING.track_inprogress()


def render() -> tuple[bytes, str]:
    """The Prometheus text exposition of this process, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
