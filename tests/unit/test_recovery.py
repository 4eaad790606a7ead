"""Recovery from job state, checked against the log: stranded stage messages are re-driven, queued
ones are left alone, and no job is ended on a stale copy of its state."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.stages.recovery import Deliveries, Recovery, pending_stage
from agents.stages.runtime import StageRuntime
from schemas.errors import ErrorCode, JobError
from schemas.events import JobFetched, JobState, ResultInfo, StageFinished, StageStarted
from streams import topics
from streams.codec import encode, key_bytes
from tests.unit.stage_fakes import FakeKafka, color_ctx, make_runtime

NOW = 1_800_000_000.0
RESULT = ResultInfo(
    result_url="https://x/vg_1.mp4", s3_key="processed/vg_1.mp4", file_size_bytes=1, duration_seconds=1.0,
    output_format="mp4",
)  # fmt: skip


async def _all(_: int = 0) -> set[int]:
    return {0}


async def _none() -> set[int]:
    return set()


def make_recovery(tmp_path: Path, **settings: object) -> tuple[Recovery, StageRuntime, FakeKafka]:
    runtime, kafka = make_runtime(tmp_path, **settings)
    recovery = Recovery(runtime, kafka, Deliveries(), lambda _job: 0, _all)
    runtime.bus.ended_in_log = recovery.ended_in_log
    return recovery, runtime, kafka


async def _fetched_job(
    kafka: FakeKafka, runtime: StageRuntime, job_id: str = "vg_1", at: float = NOW
) -> bytes:
    """A job whose fetch finished at `at` and whose `fetched` message is on the log."""
    ctx = color_ctx(job_id)
    kafka.now_ms = int(at * 1000)
    await runtime.bus.emit(StageStarted(job_id=job_id, stage="fetch", at=at))
    await runtime.bus.emit(StageFinished(job_id=job_id, stage="fetch", at=at))
    message = encode(JobFetched(ctx=ctx, sources={}, worker="w0"))
    kafka.append(topics.FETCHED, key_bytes(job_id), message, int(at * 1000))
    kafka.sent.clear()
    return message


def test_the_pending_stage_follows_the_last_stage_reached() -> None:
    state = JobState(job_id="j", updated_at=5.0, started_at=1.0)
    pending = pending_stage(state)
    assert pending is not None and (pending.stage, pending.topic) == ("validate", topics.REQUESTED)
    fetched = {"fetch": {"status": "finished", "finished_at": 7.0}}
    state = JobState.model_validate({**state.model_dump(), "stages": fetched})
    pending = pending_stage(state)
    assert pending is not None and (pending.stage, pending.topic, pending.since) == (
        "render",
        topics.FETCHED,
        7.0,
    )
    rendering = {**fetched, "render": {"status": "started", "started_at": 9.0}}
    state = JobState.model_validate({**state.model_dump(), "stages": rendering})
    pending = pending_stage(state)
    assert pending is not None and (pending.stage, pending.topic, pending.since) == (
        "render",
        topics.FETCHED,
        7.0,
    )


async def test_a_message_behind_the_consumer_is_published_again(tmp_path: Path) -> None:
    recovery, runtime, kafka = make_recovery(tmp_path)
    message = await _fetched_job(kafka, runtime)
    # the agent was handed a later offset of that partition, never this one: a rebalance dropped it
    recovery.deliveries.record(topics.FETCHED, 0, 5)
    assert await recovery.redrive(now=NOW + 10) == ["vg_1"]
    [again] = kafka.sent
    assert (again.topic, again.key) == (topics.FETCHED, "vg_1")
    assert kafka.log[topics.FETCHED][-1].value == message


async def test_a_message_fetched_past_but_never_handed_to_the_idle_agent_is_published_again(
    tmp_path: Path,
) -> None:
    """The last message of its partition, fetched and then dropped from a buffer a rebalance
    cleared: no later offset is ever handed and the group never commits past it."""
    recovery, runtime, kafka = make_recovery(tmp_path)
    await _fetched_job(kafka, runtime)
    clock = [0.0]
    positions = {topics.FETCHED: 1}

    async def fetch_position(topic: str, partition: int) -> int | None:
        return positions.get(topic)

    recovery.fetch_position = fetch_position
    recovery.deliveries = Deliveries(clock=lambda: clock[0])
    recovery.deliveries.record(topics.FETCHED, 1, 7)  # busy with another partition's message
    clock[0] = 100.0
    assert await recovery.redrive(now=NOW + 10) == [], "it may be buffered behind that one"
    recovery.deliveries.handled(topics.FETCHED, b"vg_other")
    clock[0] = 101.0
    assert await recovery.redrive(now=NOW + 10) == [], "idle for a moment only"
    clock[0] = 120.0
    assert await recovery.redrive(now=NOW + 10) == [], "idle for less than a rebalance may last"
    positions[topics.FETCHED] = 0
    clock[0] = 200.0
    assert await recovery.redrive(now=NOW + 10) == [], "not fetched yet: waiting its turn"
    positions[topics.FETCHED] = 1
    assert await recovery.redrive(now=NOW + 10) == ["vg_1"], "fetched past, and the agent idle since"


async def test_a_message_the_group_committed_past_is_published_again(tmp_path: Path) -> None:
    recovery, runtime, kafka = make_recovery(tmp_path)
    await _fetched_job(kafka, runtime)
    kafka.committed_offsets[topics.FETCHED] = 1
    assert await recovery.redrive(now=NOW + 10) == ["vg_1"]


async def test_a_message_being_handled_here_is_not_published_again(tmp_path: Path) -> None:
    """Handed to the agent, which waits for its partition's events to be folded: not stranded."""
    recovery, runtime, kafka = make_recovery(tmp_path)
    await _fetched_job(kafka, runtime)
    recovery.deliveries.record(topics.FETCHED, 0, 0)
    assert await recovery.redrive(now=NOW + 10) == []
    recovery.deliveries.handled(topics.FETCHED, b"vg_1")  # handled, and still the job did not move
    assert await recovery.redrive(now=NOW + 10) == ["vg_1"]


async def test_a_message_ahead_of_the_consumer_waits_its_turn(tmp_path: Path) -> None:
    recovery, runtime, kafka = make_recovery(tmp_path)
    await _fetched_job(kafka, runtime)
    assert await recovery.redrive(now=NOW + 600) == []
    assert kafka.sent == []


async def test_fresh_jobs_work_running_here_and_partitions_not_caught_up_are_left_alone(
    tmp_path: Path,
) -> None:
    recovery, runtime, kafka = make_recovery(tmp_path)
    await _fetched_job(kafka, runtime)
    recovery.deliveries.record(topics.FETCHED, 0, 5)
    assert await recovery.redrive(now=NOW + 1) == []  # within STAGE_ATTEMPT_STALE_SECONDS
    recovery.ready_partitions = _none
    assert await recovery.redrive(now=NOW + 60) == []


async def test_repeated_redrives_without_progress_fail_the_job(tmp_path: Path) -> None:
    recovery, runtime, kafka = make_recovery(tmp_path, max_stage_redrives=2)
    await _fetched_job(kafka, runtime)
    recovery.deliveries.record(topics.FETCHED, 0, 50)
    for _ in range(2):
        assert await recovery.redrive(now=NOW + 10) == ["vg_1"]
    assert await recovery.redrive(now=NOW + 10) == []
    [result] = kafka.on(topics.RESULTS)
    assert result["status"] == "failed" and result["error"]["code"] == "PROCESSING_TIMEOUT"
    assert "published again 2 times" in result["error"]["message"]


async def test_a_stale_copy_of_a_completed_job_announces_nothing(tmp_path: Path) -> None:
    """A worker given a partition whose table missed the job's last events: the log has them."""
    recovery, runtime, kafka = make_recovery(tmp_path)
    await _fetched_job(kafka, runtime, at=NOW - 3_600)
    stale = runtime.states.get("vg_1")
    other_bus = make_runtime(tmp_path)[0].bus
    other_bus._send = kafka.send  # another worker, the same log
    await other_bus.complete(color_ctx("vg_1"), RESULT)
    runtime.states.put(stale)  # type: ignore[arg-type]
    kafka.sent.clear()

    def outside_a_stream(state: JobState) -> None:
        raise AssertionError("Faust tables take writes only inside a stream's iteration")

    runtime.states.put = outside_a_stream  # type: ignore[method-assign]
    assert await recovery.fail_stalled(now=NOW) == []
    assert await recovery.redrive(now=NOW) == []
    assert kafka.sent == []


async def test_no_second_end_is_announced_when_the_log_has_the_first(tmp_path: Path) -> None:
    """Another worker completed the job; this one, with no record of that, fails it: dropped."""
    _, runtime, kafka = make_recovery(tmp_path)
    other_bus = make_runtime(tmp_path)[0].bus
    other_bus._send = kafka.send  # the same log
    await other_bus.complete(color_ctx("vg_1"), RESULT)
    runtime.states.states.clear()  # type: ignore[attr-defined]
    kafka.sent.clear()
    await runtime.bus.fail("vg_1", "render", JobError(ErrorCode.FFMPEG_ERROR, "boom"), ctx=color_ctx("vg_1"))
    assert kafka.sent == []


async def test_a_stalled_job_is_failed_once_its_events_agree(tmp_path: Path) -> None:
    recovery, runtime, kafka = make_recovery(tmp_path, stalled_job_minutes=1)
    await _fetched_job(kafka, runtime, at=NOW - 120)
    assert await recovery.fail_stalled(now=NOW) == ["vg_1"]
    [result] = kafka.on(topics.RESULTS)
    assert result["error"]["code"] == "PROCESSING_TIMEOUT"
    assert await recovery.fail_stalled(now=NOW) == []


@pytest.mark.parametrize("size", [10, 5_000_000])
def test_dead_letters_fit_the_broker(size: int) -> None:
    from streams.deadletter import build_dead_letter

    value = b"\xff" + b"x" * size
    letter = build_dead_letter("t", 1, 2, b"k", value, "bad", None, 1_000_000)
    assert len(encode(letter)) < 1_000_000
    assert letter.value_bytes == size + 1 and letter.value_sha256
    if size > 1_000_000:
        assert letter.value_truncated and letter.value_base64 is None and "too big" in letter.reason
    else:
        assert not letter.value_truncated and letter.value_base64 is not None


async def test_a_dead_letter_that_cannot_be_sent_does_not_stop_the_stage(tmp_path: Path) -> None:
    runtime, _ = make_runtime(tmp_path)

    async def refuse(topic: str, key: bytes, value: bytes) -> None:
        raise RuntimeError("MessageSizeTooLargeError")

    runtime.bus._send = refuse
    await runtime.bus.dead_letter("t", 0, 1, None, b"x", "bad", None)
