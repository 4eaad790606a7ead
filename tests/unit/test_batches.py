"""A batch's one callback: the fold of its items (out of order, redelivered, failed), sent once,
and how each end of a job reaches its batch (notify stage, stalled-job check, validation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from agents.stages import batches, notify
from agents.stages.loop import Record
from agents.stages.recovery import Deliveries, Recovery
from agents.stages.validate import handle_request
from schemas.batches import BatchItemEnded, BatchState, ProcessingComplete
from schemas.errors import ErrorCode, JobError
from schemas.events import (
    BatchRef,
    CallbackDelivery,
    ErrorInfo,
    JobAccepted,
    JobResult,
    ResultInfo,
    apply_event,
)
from schemas.settings import Settings
from streams import topics
from streams.codec import encode
from tests.unit.stage_fakes import color_ctx, make_runtime

HOOK = "http://hooks.example.com/done"


class DictBatches:
    def __init__(self) -> None:
        self.states: dict[str, BatchState] = {}

    def get(self, batch_id: str) -> BatchState | None:
        return self.states.get(batch_id)

    def put(self, state: BatchState) -> None:
        self.states[state.batch_id] = state


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ProcessingComplete, str | None]]:
    """Callbacks the batch stage delivered (url, body, tenant), each answered 200."""
    calls: list[tuple[str, ProcessingComplete, str | None]] = []

    async def deliver(url: str, payload: BaseModel, tenant: str | None, _: Settings) -> CallbackDelivery:
        assert isinstance(payload, ProcessingComplete)
        calls.append((url, payload, tenant))
        return CallbackDelivery(delivered=True, attempts=1, status_code=200)

    monkeypatch.setattr(batches, "deliver", deliver)
    return calls


def ref(index: int, size: int = 3) -> BatchRef:
    return BatchRef(
        id="pb_1",
        processing_id="proc_1",
        size=size,
        index=index,
        item=f"s3://in/{index}.mp4",
        callback_url=HOOK,
    )


def completed(index: int, size: int = 3) -> BatchItemEnded:
    result = ResultInfo(
        result_url=f"http://s3/out{index}.mp4", s3_key=f"out{index}.mp4", file_size_bytes=1000 + index,
        duration_seconds=2.0, width=1280, height=720, output_format="mp4",
        thumbnail_url=f"http://s3/out{index}_thumb.jpg",
    )  # fmt: skip
    return BatchItemEnded(
        batch=ref(index, size), job_id=f"clip_{index}", tenant="ai", status="completed", result=result
    )


def failed(index: int, size: int = 3) -> BatchItemEnded:
    error = ErrorInfo(code=ErrorCode.SOURCE_DOWNLOAD_FAILED, message="404 from the source")
    return BatchItemEnded(
        batch=ref(index, size), job_id=f"clip_{index}", tenant="ai", status="failed", error=error
    )


def record(item: BatchItemEnded, offset: int = 0) -> Record:
    return Record(topics.BATCH_ITEMS, 0, offset, item.batch.id.encode(), encode(item))


async def test_items_out_of_order_make_one_callback_in_request_order(tmp_path: Path, sent: list[Any]) -> None:
    runtime, kafka = make_runtime(tmp_path)
    store = DictBatches()
    for n, index in enumerate((2, 0)):
        await batches.handle_item(record(completed(index), n), store, runtime)
    assert sent == []  # two of three ended: nothing yet
    await batches.handle_item(record(completed(1), 2), store, runtime)
    [(url, body, tenant)] = sent
    assert (url, tenant, body.processing_id, body.batch_id) == (HOOK, "ai", "proc_1", "pb_1")
    assert (body.status, body.completed, body.failed) == ("completed", 3, 0)
    assert [c.index for c in body.clips] == [0, 1, 2]
    first = body.clips[0]
    assert (first.clip, first.job_id, first.output_url, first.thumbnail_url) == (
        "s3://in/0.mp4", "clip_0", "http://s3/out0.mp4", "http://s3/out0_thumb.jpg",
    )  # fmt: skip
    assert (first.duration_seconds, first.file_size_bytes, first.width, first.height) == (
        2.0,
        1000,
        1280,
        720,
    )
    # the outcome is recorded on the batch and on every job of it
    assert store.states["pb_1"].callback is not None and store.states["pb_1"].callback.delivered
    recorded = [e for e in kafka.on(topics.EVENTS) if e.get("callback")]
    assert sorted(e["job_id"] for e in recorded) == ["clip_0", "clip_1", "clip_2"]


async def test_redelivered_items_never_send_a_second_callback(tmp_path: Path, sent: list[Any]) -> None:
    runtime, _ = make_runtime(tmp_path)
    store = DictBatches()
    await batches.handle_item(record(completed(0, size=2)), store, runtime)
    await batches.handle_item(record(completed(0, size=2)), store, runtime)  # a repeat is not item 1
    assert sent == [] and len(store.states["pb_1"].items) == 1
    await batches.handle_item(record(completed(1, size=2)), store, runtime)
    for item in (completed(0, size=2), completed(1, size=2)):  # redelivered after the callback
        await batches.handle_item(record(item), store, runtime)
    assert len(sent) == 1


async def test_a_second_end_of_one_job_keeps_the_first(tmp_path: Path, sent: list[Any]) -> None:
    runtime, _ = make_runtime(tmp_path)
    store = DictBatches()
    await batches.handle_item(record(completed(0, size=2)), store, runtime)
    await batches.handle_item(record(failed(0, size=2)), store, runtime)
    await batches.handle_item(record(completed(1, size=2)), store, runtime)
    [(_, body, _)] = sent
    assert body.status == "completed" and [c.status for c in body.clips] == ["completed", "completed"]


async def test_failed_clips_are_listed_with_their_error(tmp_path: Path, sent: list[Any]) -> None:
    runtime, _ = make_runtime(tmp_path)
    store = DictBatches()
    for n, item in enumerate((failed(1), completed(0), failed(2))):
        await batches.handle_item(record(item, n), store, runtime)
    [(_, body, _)] = sent
    assert (body.status, body.completed, body.failed) == ("partial", 1, 2)
    error = body.clips[1].error
    assert error is not None and error.code == ErrorCode.SOURCE_DOWNLOAD_FAILED
    assert body.clips[1].output_url is None and body.clips[0].error is None


async def test_every_clip_failing_fails_the_batch(tmp_path: Path, sent: list[Any]) -> None:
    runtime, _ = make_runtime(tmp_path)
    store = DictBatches()
    await batches.handle_item(record(failed(0, size=1)), store, runtime)
    assert sent[0][1].status == "failed"


async def test_an_undecodable_item_is_dead_lettered(tmp_path: Path, sent: list[Any]) -> None:
    runtime, kafka = make_runtime(tmp_path)
    await batches.handle_item(Record(topics.BATCH_ITEMS, 0, 7, b"pb_1", b"{}"), DictBatches(), runtime)
    [letter] = kafka.on(topics.DLQ)
    assert letter["topic"] == topics.BATCH_ITEMS and "undecodable" in letter["reason"] and sent == []


# --- how a job's end reaches its batch -----------------------------------------------------------


async def test_a_batch_jobs_end_goes_to_its_batch_not_to_a_callback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_delivery(*_: object) -> CallbackDelivery:
        raise AssertionError("a batch's job must not send its own callback")

    monkeypatch.setattr(notify, "deliver", no_delivery)
    runtime, kafka = make_runtime(tmp_path)
    ended = JobResult(
        job_id="clip_1", tenant="ai", status="failed", processing_time_seconds=1.0, batch=ref(1),
        error=ErrorInfo(code=ErrorCode.FFMPEG_ERROR, message="boom"),
    )  # fmt: skip
    await notify.deliver_callback(encode(ended), runtime)
    [sent] = kafka.sent
    assert (sent.topic, sent.key) == (topics.BATCH_ITEMS, "pb_1")
    item = BatchItemEnded.model_validate(sent.value)
    assert (item.job_id, item.status, item.batch.index, item.error) == ("clip_1", "failed", 1, ended.error)


async def _owned() -> set[int]:
    return {0}


async def test_a_failing_stage_and_the_stalled_check_tell_the_batch(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path)
    ctx = color_ctx("clip_0").model_copy(update={"batch": ref(0)})
    await runtime.bus.fail("clip_0", "render", JobError(ErrorCode.FFMPEG_ERROR, "boom"), ctx=ctx)
    # a job known only from its events (the API's accepted event carries the batch)
    accepted = JobAccepted(job_id="clip_1", batch=ref(1), at=0.0)
    runtime.states.put(apply_event(None, accepted))
    assert await Recovery(runtime, kafka, Deliveries(), lambda _job: 0, _owned).fail_stalled(
        now=10_000.0
    ) == ["clip_1"]
    results = {r["job_id"]: r for r in kafka.on(topics.RESULTS)}
    assert results["clip_0"]["batch"]["index"] == 0 and results["clip_1"]["batch"]["index"] == 1


async def test_an_invalid_request_of_a_batch_still_ends_its_item(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path)
    raw = {"job_id": "clip_2", "batch": ref(2).model_dump(), "spec": {"elements": []}}
    await handle_request(Record(topics.REQUESTED, 0, 0, b"clip_2", orjson.dumps(raw)), runtime)
    [result] = kafka.on(topics.RESULTS)
    assert result["status"] == "failed" and result["batch"]["id"] == "pb_1"
