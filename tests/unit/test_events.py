"""The job event types: each folds its own part of a job's state, the union goes through the wire
unchanged, and events written before the types (flat, without `type`) still decode and fold as they
did (tests/unit/legacy_events.json holds sequences written and folded by that code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from schemas.errors import ErrorCode
from schemas.events import (
    JOB_EVENT,
    Ahead,
    BatchRef,
    CallbackDelivery,
    CallbackOutcome,
    ErrorInfo,
    JobAccepted,
    JobEnded,
    JobEvent,
    JobOrigin,
    JobState,
    RenderedFile,
    ResultInfo,
    SourceFile,
    StageFinished,
    StageProgress,
    StageStarted,
    Workload,
    apply_event,
    job_ended,
    legacy_event_type,
)
from streams.codec import decode, encode

LEGACY: dict[str, list[dict[str, Any]]] = orjson.loads(
    (Path(__file__).parent / "legacy_events.json").read_bytes()
)["sequences"]

AT = 1_765_000_000.0
RESULT = ResultInfo(
    result_url="https://bucket.test/v.mp4",
    s3_key="processed/v.mp4",
    file_size_bytes=1000,
    duration_seconds=6.0,
    width=1280,
    height=720,
    output_format="mp4",
)
BATCH = BatchRef(id="pb_1", processing_id="p", size=2, index=0)
SOURCES = {"0": SourceFile(url="https://cdn.test/a.mp4", path="/d/0.mp4", size_bytes=10)}
RENDERED = RenderedFile(path="/d/out.mp4", size_bytes=1000, duration_seconds=6.0, width=1280, height=720)
DELIVERY = CallbackDelivery(delivered=True, attempts=1, status_code=200, at=AT + 9)


def fold(*events: JobEvent) -> JobState:
    state = None
    for event in events:
        state = apply_event(state, event)
    assert state is not None
    return state


def running(**update: Any) -> JobState:
    """A job that is processing, at 40% of its render."""
    state = fold(
        JobAccepted(job_id="vg_1", tenant="acme", at=AT, submitted_at_ms=1, estimated_seconds=10.0),
        StageProgress(job_id="vg_1", stage="render", at=AT + 1, progress_percent=40.0, current_step="r 40%"),
    )
    return state.model_copy(update=update)


# each type's fold step


def test_accepted_queues_the_job_with_what_it_first_said() -> None:
    origin = JobOrigin(template_id="tpl_1")
    accepted = JobAccepted(
        job_id="vg_1",
        tenant="acme",
        at=AT,
        estimated_seconds=12.0,
        submitted_at_ms=7,
        batch=BATCH,
        origin=origin,
    )
    state = apply_event(None, accepted)
    assert (state.status, state.stage, state.current_step, state.progress_percent) == (
        "queued",
        "accepted",
        "queued",
        0,
    )
    assert (state.tenant, state.submitted_at_ms, state.estimated_seconds) == ("acme", 7, 12.0)
    assert (state.batch, state.origin, state.started_at, state.updated_at) == (BATCH, origin, AT, AT)
    other = BatchRef(id="pb_2", processing_id="q", size=1, index=0)
    again = JobAccepted(job_id="vg_1", at=AT + 1, submitted_at_ms=8, estimated_seconds=13.0, batch=other)
    repeated = apply_event(state, again.model_copy(update={"origin": JobOrigin()}))
    assert (repeated.submitted_at_ms, repeated.batch, repeated.origin) == (7, BATCH, origin), (
        "first seen kept"
    )
    assert repeated.estimated_seconds == 13.0, "the latest estimate"
    later = apply_event(running(), again)  # read after the job started (reordered)
    assert (later.status, later.progress_percent, later.stage) == ("processing", 40.0, "accepted")


def test_a_started_stage_records_the_attempt_and_counts_it() -> None:
    first = StageStarted(
        job_id="vg_1", stage="fetch", at=AT + 2, worker="w1", attempt_id="a1", progress_percent=10
    )
    state = apply_event(running(), first)
    record = state.stages["fetch"]
    assert (record.status, record.worker, record.attempt_id, record.attempts, record.started_at) == (
        "started",
        "w1",
        "a1",
        1,
        AT + 2,
    )
    assert state.progress_percent == 40.0 and state.status == "processing"
    again = StageStarted(job_id="vg_1", stage="fetch", at=AT + 9, worker="w2", attempt_id="a2")
    redone = apply_event(state, again).stages["fetch"]
    assert (redone.worker, redone.attempt_id, redone.attempts) == ("w2", "a2", 2)


def test_progress_moves_forward_only_and_may_bring_an_estimate() -> None:
    state = running()
    back = apply_event(
        state, StageProgress(job_id="vg_1", stage="render", progress_percent=30, current_step="r 30%")
    )
    assert (back.progress_percent, back.current_step, back.estimated_seconds) == (40.0, "r 30%", 10.0)
    new_estimate = StageProgress(job_id="vg_1", stage="render", progress_percent=60, estimated_seconds=25.0)
    ahead = apply_event(state, new_estimate)
    assert (ahead.progress_percent, ahead.estimated_seconds, ahead.current_step) == (60.0, 25.0, "r 40%")
    assert ahead.stages == {}, "progress does not touch the stages"


def test_a_finished_stage_keeps_what_it_made_and_validate_says_what_the_job_is() -> None:
    started = StageStarted(job_id="vg_1", stage="render", at=AT + 2, worker="w1", attempt_id="r1")
    finished = StageFinished(
        job_id="vg_1",
        stage="render",
        at=AT + 5,
        worker="w1",
        attempt_id="r1",
        stage_seconds=3.0,
        rendered=RENDERED,
    )
    record = fold(JobAccepted(job_id="vg_1", at=AT), started, finished).stages["render"]
    assert (record.status, record.attempts, record.started_at, record.finished_at) == (
        "finished",
        1,
        AT + 2,
        AT + 5,
    )
    assert (record.rendered, record.sources, record.attempt_id) == (RENDERED, None, "r1")
    fetched = apply_event(running(), StageFinished(job_id="vg_1", stage="fetch", sources=SOURCES, at=AT + 3))
    assert fetched.finished("fetch") is not None and fetched.stages["fetch"].sources == SOURCES
    validated = StageFinished(
        job_id="vg_up",
        stage="validate",
        at=AT,
        submitted_at_ms=5,
        estimated_seconds=8.0,
        batch=BATCH,
        progress_percent=5,
    )
    first = apply_event(None, validated)  # a job published straight to Kafka: validate's event is its first
    assert (first.status, first.submitted_at_ms, first.estimated_seconds, first.batch) == (
        "processing",
        5,
        8.0,
        BATCH,
    )
    assert first.progress_percent == 5.0 and first.finished("validate") is not None
    kept = apply_event(running(), validated.model_copy(update={"job_id": "vg_1"}))
    assert (kept.submitted_at_ms, kept.estimated_seconds, kept.batch) == (1, 8.0, BATCH), "first-seen kept"


def test_the_end_is_final_and_completes_the_notify_stage() -> None:
    event, _ = job_ended("vg_1", "completed", "notify", 3.0, tenant="acme", worker="w1", result=RESULT)
    assert (event.progress_percent, event.stage_status, event.bytes_out, event.output_format) == (
        100.0,
        "finished",
        1000,
        "mp4",
    )
    done = apply_event(running(), event)
    assert (done.status, done.progress_percent, done.result, done.finished_at) == (
        "completed",
        100.0,
        RESULT,
        event.at,
    )
    assert done.finished("notify") is not None and done.stages["notify"].worker == "w1"
    error = ErrorInfo(code=ErrorCode.FFMPEG_ERROR, message="x")
    late = [
        job_ended("vg_1", "failed", "render", 1.0, error=error)[0],
        StageProgress(job_id="vg_1", stage="render", progress_percent=99),
        StageStarted(job_id="vg_1", stage="upload", attempt_id="u2"),
        StageFinished(job_id="vg_1", stage="upload", attempt_id="u2", stage_seconds=1.0),
        JobAccepted(job_id="vg_1"),
    ]
    for other in late:
        assert apply_event(done, other) == done, type(other).__name__
    failed = apply_event(running(), job_ended("vg_1", "failed", "render", 1.0, error=error)[0])
    assert (failed.status, failed.error, failed.result, failed.progress_percent) == (
        "failed",
        error,
        None,
        40.0,
    )
    assert "render" not in failed.stages, "a failure finishes no stage"


def test_a_callback_outcome_is_all_that_still_changes_an_ended_job() -> None:
    done = apply_event(running(), job_ended("vg_1", "completed", "notify", 3.0, result=RESULT)[0])
    told = apply_event(done, CallbackOutcome(job_id="vg_1", status="completed", callback=DELIVERY, at=AT + 9))
    assert told == done.model_copy(update={"callback": DELIVERY})
    unknown = apply_event(None, CallbackOutcome(job_id="vg_x", status="failed", callback=DELIVERY))
    assert unknown.callback == DELIVERY and not unknown.terminal, "a callback alone does not end a job"


# the union on the wire


EVERY_TYPE: list[JobEvent] = [
    JobAccepted(
        job_id="vg_1",
        tenant="acme",
        request_id="req",
        estimated_seconds=1.5,
        submitted_at_ms=9,
        output_format="mp4",
        element_counts={"video": 1},
        backlog=3,
        workers=2,
        workload=Workload(pixel_seconds=1.0, layer_seconds=2.0, effects=1),
        ahead=Ahead(jobs=1.0),
        batch=BATCH,
        origin=JobOrigin(template_id="tpl"),
    ),
    StageStarted(
        job_id="vg_1",
        stage="fetch",
        worker="w1",
        attempt_id="a1",
        current_step="downloading",
        progress_percent=10,
    ),
    StageProgress(
        job_id="vg_1",
        stage="render",
        worker="w1",
        current_step="r 50%",
        progress_percent=60,
        estimated_seconds=4,
    ),
    StageFinished(
        job_id="vg_1",
        stage="fetch",
        worker="w1",
        attempt_id="a1",
        stage_seconds=1.0,
        bytes_in=10,
        sources=SOURCES,
    ),
    StageFinished(
        job_id="vg_1", stage="render", attempt_id="r1", stage_seconds=2.0, bytes_out=1000, rendered=RENDERED
    ),
    StageFinished(
        job_id="vg_1",
        stage="validate",
        stage_seconds=0.1,
        submitted_at_ms=9,
        estimated_seconds=1.5,
        batch=BATCH,
    ),
    job_ended("vg_1", "completed", "notify", 1.0, tenant="acme", worker="w1", result=RESULT)[0],
    job_ended("vg_1", "cancelled", "accepted", 1.0, error=ErrorInfo(code=ErrorCode.CANCELLED, message="c"))[
        0
    ],
    CallbackOutcome(job_id="vg_1", tenant="acme", worker="w1", status="completed", callback=DELIVERY),
]


@pytest.mark.parametrize("event", EVERY_TYPE, ids=lambda e: f"{e.type}-{e.stage}")
def test_every_type_goes_through_the_wire_unchanged(event: JobEvent) -> None:
    raw = encode(event)
    wire = orjson.loads(raw)
    assert wire["type"] == event.type and {"job_id", "stage", "status", "at", "current_step"} <= set(wire)
    decoded = decode(JOB_EVENT, raw)
    assert type(decoded) is type(event) and decoded == event


def test_the_discriminator_picks_the_type_and_refuses_an_unknown_one() -> None:
    assert isinstance(
        JOB_EVENT.validate_python({"type": "progress", "job_id": "j", "stage": "render"}), StageProgress
    )
    with pytest.raises(ValidationError):
        JOB_EVENT.validate_python(
            {"type": "teleported", "job_id": "j", "stage": "render", "status": "processing"}
        )
    with pytest.raises(ValidationError):  # a type's status is the job's as of that kind of event
        JOB_EVENT.validate_python(
            {"type": "started", "job_id": "j", "stage": "render", "status": "completed"}
        )
    mapping = JOB_EVENT.json_schema()["discriminator"]["mapping"]
    assert set(mapping) == {"accepted", "started", "progress", "finished", "ended", "callback"}


# events written before the types


OLD_EVENTS = [
    (
        b'{"event_id":"e0","job_id":"vg_1","tenant":"acme","request_id":"r","at":1765000000.0,"stage":"accepted",'
        b'"status":"queued","progress_percent":0.0,"current_step":"queued","estimated_seconds":14.5,'
        b'"submitted_at_ms":1765000000000,"output_format":"mp4","element_counts":{"video":1},"backlog":0,"workers":1}',
        JobAccepted,
    ),
    (
        b'{"event_id":"e1","job_id":"vg_1","at":1765000001.0,"stage":"fetch","status":"processing",'
        b'"progress_percent":10.0,"current_step":"downloading sources","worker":"w1",'
        b'"stage_status":"started","attempt_id":"a1"}',
        StageStarted,
    ),
    (
        b'{"event_id":"e2","job_id":"vg_1","at":1765000002.0,"stage":"render","status":"processing",'
        b'"progress_percent":49.0,"current_step":"rendering 40%","worker":"w1"}',
        StageProgress,
    ),
    (
        b'{"event_id":"e3","job_id":"vg_1","at":1765000003.0,"stage":"validate","status":"processing",'
        b'"progress_percent":5.0,"current_step":"validated","estimated_seconds":3.0,"submitted_at_ms":1,'
        b'"stage_seconds":0.01,"worker":"w1","stage_status":"finished"}',
        StageFinished,
    ),
    (
        b'{"event_id":"e4","job_id":"vg_1","at":1765000004.0,"stage":"accepted","status":"cancelled",'
        b'"progress_percent":0.0,"current_step":"cancelled","error":{"code":"CANCELLED","message":"c","details":{}}}',
        JobEnded,
    ),
    (
        b'{"event_id":"e5","job_id":"vg_1","at":1765000005.0,"stage":"notify","status":"completed",'
        b'"progress_percent":100.0,"current_step":"completed","worker":"w1","stage_status":"finished",'
        b'"output_format":"mp4","bytes_out":1000,"result":'
        + orjson.dumps(RESULT.model_dump(mode="json"))
        + b"}",
        JobEnded,
    ),
    (
        b'{"event_id":"e6","job_id":"vg_1","at":1765000006.0,"stage":"notify","status":"completed",'
        b'"progress_percent":0.0,"current_step":"callback","worker":"w1",'
        b'"callback":{"delivered":true,"attempts":1,"status_code":200,"at":1765000006.0}}',
        CallbackOutcome,
    ),
]


@pytest.mark.parametrize(("raw", "kind"), OLD_EVENTS, ids=[kind.__name__ for _, kind in OLD_EVENTS])
def test_an_old_flat_event_decodes_as_the_type_its_fields_say(raw: bytes, kind: type[Any]) -> None:
    event = decode(JOB_EVENT, raw)
    old = orjson.loads(raw)
    assert type(event) is kind and legacy_event_type(old) == event.type
    again = orjson.loads(encode(event))
    for field in ("event_id", "job_id", "at", "stage", "status", "current_step", "worker", "stage_status"):
        assert again.get(field) == old.get(field), field  # what JSON consumers read is still there


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_old_sequences_decode_to_their_types_and_fold_as_they_did(name: str) -> None:
    """Each event as the flat model wrote it, and the job's state after it as the old fold made it."""
    state = None
    for n, step in enumerate(LEGACY[name]):
        event = decode(JOB_EVENT, orjson.dumps(step["event"]))
        assert event.type == step["type"], n
        state = apply_event(state, event)
        assert state == JobState.model_validate(step["state"]), f"{name} after event {n} ({event.type})"
