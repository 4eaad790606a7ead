"""Every stage handler without a broker, including redelivery of each stage's message: work that
is done is not done again, work running on this worker is joined, and a job ends exactly once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.stages import fetch, notify, render, state, upload
from agents.stages.loop import DeadLetterGuard, Record, handle_safely, run_stage
from agents.stages.recovery import Deliveries, Recovery
from agents.stages.runtime import StageRuntime
from agents.stages.validate import handle_request
from agents.workdir import job_dir
from schemas.errors import ErrorCode, JobError
from schemas.events import (
    JobContext,
    JobEnded,
    JobFetched,
    JobRendered,
    JobUploaded,
    JobValidated,
    RenderedFile,
    ResultInfo,
    SourceFile,
    StageFinished,
    StageProgress,
    StageStarted,
)
from schemas.outputs import Poster
from schemas.responses import JobCompleted
from schemas.spec import VideoSpec
from schemas.views import job_view
from storage.s3 import CONTENT_TYPES
from streams import topics
from streams.codec import encode
from tests.media import ffmpeg
from tests.unit.stage_fakes import FakeKafka, color_ctx, make_runtime


async def _records(*items: Record) -> Any:
    for item in items:
        yield item


def _record(topic: str, value: bytes, offset: int = 0) -> Record:
    return Record(topic, 0, offset, b"vg_1", value, 1_700_000_000.0)


def _result(size: int = 10) -> ResultInfo:
    return ResultInfo(
        result_url="http://s3/x.mp4", s3_key="x.mp4", file_size_bytes=size,
        duration_seconds=1.0, width=64, height=64, output_format="mp4",
    )  # fmt: skip


# validate


async def test_validate_accepts_and_ignores_a_redelivery_once_fetch_started(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path)
    ctx = color_ctx()
    request = orjson.dumps({"job_id": "vg_1", "spec": ctx.spec.model_dump(mode="json", exclude_none=True)})
    await handle_request(_record(topics.REQUESTED, request), runtime)
    assert len(kafka.on(topics.VALIDATED)) == 1
    assert runtime.states.get("vg_1").finished("validate")  # type: ignore[union-attr]

    await handle_request(_record(topics.REQUESTED, request), runtime)  # validated, not yet fetched
    assert len(kafka.on(topics.VALIDATED)) == 2  # handed on again, not validated twice
    assert len(kafka.events(stage="validate")) == 1

    await fetch.handle(JobValidated(ctx=ctx), runtime)
    await handle_request(_record(topics.REQUESTED, request), runtime)
    assert len(kafka.on(topics.VALIDATED)) == 2


async def test_validate_asks_the_log_whether_another_worker_validated_it(tmp_path: Path) -> None:
    """The intake's partitions are not the job state's: the first request of a partition given to
    this worker in a rebalance is looked up on the log before it is validated again."""
    runtime, kafka = make_runtime(tmp_path)
    recovery = Recovery(runtime, kafka, Deliveries(), lambda _job: 0, _owned)
    runtime.state_from_log = recovery.state_from_log
    spec = color_ctx().spec.model_dump(mode="json", exclude_none=True)
    request = orjson.dumps({"job_id": "vg_1", "spec": spec})
    await handle_request(_record(topics.REQUESTED, request), runtime)  # on the worker that died
    runtime.states.states.clear()  # type: ignore[attr-defined]
    await handle_request(_record(topics.REQUESTED, request), runtime, maybe_handled=True)
    assert len(kafka.events(stage="validate")) == 1, "validated once"
    assert len(kafka.on(topics.VALIDATED)) == 2, "handed on again"


async def test_validate_dead_letters_an_invalid_request_and_fails_its_job(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path)
    await handle_request(_record(topics.REQUESTED, b'{"job_id": "vg_2", "spec": {"width": 3}}'), runtime)
    assert kafka.on(topics.DLQ)[0]["job_id"] == "vg_2"
    [result] = kafka.on(topics.RESULTS)
    assert result["status"] == "failed" and result["error"]["code"] == "INVALID_INPUT"


# fetch


async def test_fetch_records_start_and_finish_and_hands_off_again_on_redelivery(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path)
    message = JobValidated(ctx=color_ctx())
    await fetch.handle(message, runtime)
    assert [e["stage_status"] for e in kafka.events(stage="fetch")] == ["started", "finished"]
    assert len(kafka.on(topics.FETCHED)) == 1

    await fetch.handle(message, runtime)  # crash after finishing, before the commit
    assert len(kafka.events(stage="fetch", stage_status="started")) == 1
    assert len(kafka.on(topics.FETCHED)) == 2

    kafka.states.put(runtime.states.get("vg_1").model_copy(update={"stages": {  # type: ignore[union-attr]
        **runtime.states.get("vg_1").stages,  # type: ignore[union-attr]
        "render": runtime.states.get("vg_1").stages["fetch"],  # type: ignore[union-attr]
    }}))  # fmt: skip
    await fetch.handle(message, runtime)
    assert len(kafka.on(topics.FETCHED)) == 2


# render


async def test_render_writes_a_file_per_attempt_and_reuses_a_finished_one(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path)
    message = JobFetched(ctx=color_ctx(), sources={}, worker="w1")
    await render.handle(message, runtime)
    [first] = kafka.on(topics.RENDERED)
    path = Path(first["output_path"])
    assert path.is_file() and path.stat().st_size == first["size_bytes"] > 0
    assert path.parent == job_dir(runtime.settings, "vg_1") / "output"

    await render.handle(message, runtime)  # redelivered: the finished file is handed on, not redone
    assert len(kafka.events(stage="render", stage_status="started")) == 1
    assert [r["output_path"] for r in kafka.on(topics.RENDERED)] == [str(path)] * 2

    path.unlink()  # the file is gone (another host): render again, into a new file
    await render.handle(message, runtime)
    third = kafka.on(topics.RENDERED)[-1]
    assert len(kafka.events(stage="render", stage_status="started")) == 2
    assert third["output_path"] != str(path) and Path(third["output_path"]).is_file()


async def test_a_render_redelivered_while_it_runs_joins_it(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path, fold_events=False)  # the table has not folded anything yet
    message = JobFetched(ctx=color_ctx(seconds=3.0), sources={}, worker="w1")
    record = _record(topics.FETCHED, encode(message))
    await asyncio.gather(
        run_stage(_records(record), "render", JobFetched, render.handle, runtime),
        run_stage(_records(record), "render", JobFetched, render.handle, runtime),
    )
    assert len(kafka.events(stage="render", stage_status="started")) == 1
    assert len(kafka.on(topics.RENDERED)) == 1
    await run_stage(_records(record), "render", JobFetched, render.handle, runtime)  # after it: skipped
    assert len(kafka.on(topics.RENDERED)) == 1


async def test_a_render_another_live_worker_runs_is_waited_for_not_redone(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path)
    message = JobFetched(ctx=color_ctx(), sources={}, worker="w1")
    elsewhere = dict(job_id="vg_1", stage="render", status="processing", worker="w2", attempt_id="a2")
    state.fold(encode(StageStarted(**elsewhere)), runtime)  # type: ignore[arg-type]
    loop = asyncio.ensure_future(
        run_stage(
            _records(_record(topics.FETCHED, encode(message))), "render", JobFetched, render.handle, runtime
        )
    )
    for _ in range(8):  # w2 reports progress: still running there
        await asyncio.sleep(0.25)
        state.fold(encode(StageProgress(**elsewhere, current_step="rendering 50%")), runtime)  # type: ignore[arg-type]
    assert not loop.done() and kafka.on(topics.RENDERED) == []
    theirs = RenderedFile(
        path="/elsewhere/vg_1.a2.mp4", size_bytes=9, duration_seconds=1, width=64, height=64
    )
    state.fold(encode(StageFinished(**elsewhere, rendered=theirs)), runtime)  # type: ignore[arg-type]
    await asyncio.wait_for(loop, 10)
    [handed] = kafka.on(topics.RENDERED)
    assert handed["output_path"] == theirs.path and handed["worker"] == "w2"
    assert kafka.events(stage="render", worker="w1", stage_status="started") == []


async def test_a_render_whose_worker_fell_silent_is_taken_over(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path, stage_attempt_stale_seconds=1.0)
    killed = StageStarted(
        job_id="vg_1",
        stage="render",
        worker="w2",
        at=time.time() - 2,
    )
    state.fold(encode(killed), runtime)
    message = JobFetched(ctx=color_ctx(), sources={}, worker="w1")
    await run_stage(
        _records(_record(topics.FETCHED, encode(message))), "render", JobFetched, render.handle, runtime
    )
    [handed] = kafka.on(topics.RENDERED)
    assert handed["worker"] == "w1" and Path(handed["output_path"]).is_file()
    assert runtime.states.get("vg_1").stages["render"].attempts == 2  # type: ignore[union-attr]


async def test_cancelling_a_job_stops_its_render_and_removes_its_files(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path)
    message = JobFetched(ctx=color_ctx(seconds=30.0), sources={}, worker="w1")
    loop = asyncio.ensure_future(
        run_stage(
            _records(_record(topics.FETCHED, encode(message))), "render", JobFetched, render.handle, runtime
        )
    )
    while not kafka.events(stage="render", stage_status="started"):
        await asyncio.sleep(0.05)
    cancelled = JobEnded(job_id="vg_1", stage="render", status="cancelled", current_step="cancelled")
    state.fold(encode(cancelled), runtime)
    await asyncio.wait_for(loop, 10)
    assert kafka.on(topics.RENDERED) == [] and kafka.on(topics.RESULTS) == []
    assert not job_dir(runtime.settings, "vg_1").exists()


# upload


@pytest.fixture
def storage(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """S3 as a dict of key -> bytes (moto-backed storage is tested in test_storage_s3)."""
    objects: dict[str, bytes] = {}

    def upload_file(settings: Any, path: Path, key: str, fmt: str) -> int:
        objects[key] = path.read_bytes()
        return len(objects[key])

    monkeypatch.setattr(upload, "upload_file", upload_file)
    monkeypatch.setattr(upload, "stored_size", lambda s, key: len(objects[key]) if key in objects else None)
    monkeypatch.setattr(upload, "delete_object", lambda s, key: objects.pop(key, None))
    return objects


async def _rendered(runtime: StageRuntime, kafka: FakeKafka) -> JobRendered:
    await render.handle(JobFetched(ctx=color_ctx(), sources={}, worker="w1"), runtime)
    return JobRendered.model_validate(kafka.on(topics.RENDERED)[-1])


async def test_upload_stores_its_own_render_and_skips_a_redelivery(
    tmp_path: Path, storage: dict[str, Any]
) -> None:
    runtime, kafka = make_runtime(tmp_path)
    message = await _rendered(runtime, kafka)
    body = Path(message.output_path).read_bytes()
    await upload.handle(message, runtime)
    [uploaded] = kafka.on(topics.UPLOADED)
    assert list(storage.values()) == [body] and uploaded["result"]["file_size_bytes"] == len(body)
    assert not job_dir(runtime.settings, "vg_1").exists()

    await notify.handle(JobUploaded.model_validate(uploaded), runtime)
    await upload.handle(message, runtime)  # redelivered after notify finished: nothing to do
    record = _record(topics.RENDERED, encode(message))
    await run_stage(_records(record), "upload", JobRendered, upload.handle, runtime)
    assert len(kafka.on(topics.UPLOADED)) == 1


async def test_upload_without_the_file_announces_a_whole_stored_object_or_renders_again(
    tmp_path: Path, storage: dict[str, Any]
) -> None:
    runtime, kafka = make_runtime(tmp_path)
    message = await _rendered(runtime, kafka)
    await upload.handle(message, runtime)  # stored; the crash came before the commit
    await upload.handle(message, runtime)  # the file is gone, the object of its size is there
    assert len(kafka.on(topics.UPLOADED)) == 2
    assert len(kafka.events(stage="upload", stage_status="started")) == 1
    assert len(kafka.events(stage="upload", stage_status="finished")) == 1  # handed on, not redone

    storage.clear()
    storage[next(iter([m["result"]["s3_key"] for m in kafka.on(topics.UPLOADED)]))] = b""  # an empty object
    runtime2, kafka2 = make_runtime(tmp_path / "other")
    await upload.handle(message, runtime2)  # never announced: rendered again here and stored whole
    [uploaded] = kafka2.on(topics.UPLOADED)
    assert uploaded["result"]["file_size_bytes"] > 0 and len(next(iter(storage.values()))) > 0


async def test_upload_of_a_job_cancelled_meanwhile_deletes_the_object(
    tmp_path: Path, storage: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, kafka = make_runtime(tmp_path)
    message = await _rendered(runtime, kafka)
    real = upload.upload_file

    def cancel_while_uploading(*args: Any) -> int:
        kafka.states.put(runtime.states.get("vg_1").model_copy(update={"status": "cancelled"}))  # type: ignore[union-attr]
        return real(*args)

    monkeypatch.setattr(upload, "upload_file", cancel_while_uploading)
    await upload.handle(message, runtime)
    assert storage == {} and kafka.on(topics.UPLOADED) == []


async def test_poster_and_thumbnail_ride_from_render_to_the_result_stored_before_their_video(
    tmp_path: Path, storage: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, kafka = make_runtime(tmp_path)
    ctx = color_ctx()
    spec = ctx.spec.model_copy(update={"thumbnail": True, "poster": Poster(time=0.5)})
    ctx = ctx.model_copy(update={"spec": spec})
    await render.handle(JobFetched(ctx=ctx, sources={}, worker="w1"), runtime)
    [finished] = kafka.events(stage="render", stage_status="finished")
    rendered = RenderedFile.model_validate(finished["rendered"])
    for image in (rendered.thumbnail_path, rendered.poster_path):
        assert image is not None and Path(image).read_bytes()[:2] == b"\xff\xd8"
    assert rendered.output is not None and (rendered.output.width, rendered.output.height) == (64, 64)
    assert rendered.encoding is not None and rendered.encoding.video_codec == "libx264"
    message = JobRendered.model_validate(kafka.on(topics.RENDERED)[-1])
    assert (message.thumbnail_path, message.poster_path) == (rendered.thumbnail_path, rendered.poster_path)

    order: list[str] = []
    stored = upload.upload_file
    monkeypatch.setattr(upload, "upload_file", lambda *a: order.append(a[2]) or stored(*a))
    await upload.handle(message, runtime)
    [uploaded] = kafka.on(topics.UPLOADED)
    result = ResultInfo.model_validate(uploaded["result"])
    assert order == [result.poster_s3_key, result.thumbnail_s3_key, result.s3_key], (
        "a stored video means stored images"
    )
    assert result.thumbnail_s3_key == "processed/video_vg_1_1_thumb.jpg"
    assert result.poster_s3_key == "processed/video_vg_1_1_poster.jpg"
    assert result.thumbnail_url is not None and result.thumbnail_url.endswith(result.thumbnail_s3_key)
    assert result.poster_url is not None and result.poster_url.endswith(result.poster_s3_key)
    assert storage[result.thumbnail_s3_key][:2] == storage[result.poster_s3_key][:2] == b"\xff\xd8"

    runtime2, kafka2 = make_runtime(tmp_path / "other")  # the file is elsewhere; the objects are stored
    await upload.handle(message, runtime2)
    [again] = kafka2.on(topics.UPLOADED)
    assert again["result"]["poster_s3_key"] == result.poster_s3_key

    await notify.handle(JobUploaded.model_validate(uploaded), runtime)
    [ended] = kafka.on(topics.RESULTS)
    assert (ended["result"]["poster_url"], ended["result"]["thumbnail_url"]) == (
        result.poster_url,
        result.thumbnail_url,
    )
    view = job_view(runtime.states.get("vg_1"))  # type: ignore[arg-type]
    assert isinstance(view, JobCompleted)
    assert (view.poster_url, view.thumbnail_url) == (result.poster_url, result.thumbnail_url)


async def test_an_mp3_job_is_stored_as_sound_without_a_picture_size(
    tmp_path: Path, storage: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, kafka = make_runtime(tmp_path)
    tone = tmp_path / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=1:sample_rate=48000", "-threads", "1", str(tone))
    url = "https://example.com/tone.wav"
    spec = VideoSpec.model_validate({"output_format": "mp3", "elements": [{"type": "audio", "source": url}]})
    ctx = JobContext(job_id="vg_1", submitted_at_ms=1, estimated_seconds=1.0, spec=spec)
    sources = {"0": SourceFile(url=url, path=str(tone), size_bytes=tone.stat().st_size)}
    await render.handle(JobFetched(ctx=ctx, sources=sources, worker="w1"), runtime)
    [finished] = kafka.events(stage="render", stage_status="finished")
    rendered = RenderedFile.model_validate(finished["rendered"])
    assert (rendered.width, rendered.height, rendered.thumbnail_path, rendered.poster_path) == (None,) * 4
    assert rendered.output is not None and rendered.output.kind == "audio"
    assert rendered.encoding is not None
    assert (rendered.encoding.video_codec, rendered.encoding.audio_codec) == (None, "libmp3lame")

    formats: list[str] = []
    stored = upload.upload_file
    monkeypatch.setattr(upload, "upload_file", lambda *a: formats.append(a[3]) or stored(*a))
    await upload.handle(JobRendered.model_validate(kafka.on(topics.RENDERED)[-1]), runtime)
    result = ResultInfo.model_validate(kafka.on(topics.UPLOADED)[-1]["result"])
    assert result.s3_key == "processed/video_vg_1_1.mp3" and formats == ["mp3"]
    assert (result.width, result.height, result.output_format) == (None, None, "mp3")
    assert CONTENT_TYPES["mp3"] == "audio/mpeg"


# notify and the one terminal result


async def test_a_job_ends_once_whatever_its_attempts_say(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path, fold_events=False)  # before the table folds anything
    ctx = color_ctx()
    await notify.handle(JobUploaded(ctx=ctx, result=_result()), runtime)
    await notify.handle(JobUploaded(ctx=ctx, result=_result()), runtime)
    await runtime.bus.fail("vg_1", "render", JobError(ErrorCode.FFMPEG_ERROR, "a late duplicate"), ctx=ctx)
    assert [r["status"] for r in kafka.on(topics.RESULTS)] == ["completed"]
    assert [e["status"] for e in kafka.on(topics.EVENTS)] == ["completed"]


async def test_a_failed_job_is_not_completed_later(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path)
    ctx = color_ctx()
    await runtime.bus.fail("vg_1", "render", JobError(ErrorCode.FFMPEG_ERROR, "broken"), ctx=ctx)
    await notify.handle(JobUploaded(ctx=ctx, result=_result()), runtime)
    assert [r["status"] for r in kafka.on(topics.RESULTS)] == ["failed"]


async def test_storage_failures_keep_the_rendered_file_other_failures_clean_up(tmp_path: Path) -> None:
    runtime, _ = make_runtime(tmp_path)
    ctx = color_ctx()
    output = job_dir(runtime.settings, "vg_1") / "output" / "vg_1.a.mp4"
    output.parent.mkdir(parents=True)
    output.write_bytes(b"rendered")

    async def raise_(code: ErrorCode) -> None:
        raise JobError(code, "no")

    await handle_safely("upload", ctx, lambda: raise_(ErrorCode.S3_UPLOAD_FAILED), runtime)
    assert output.read_bytes() == b"rendered"
    await handle_safely("upload", ctx, lambda: raise_(ErrorCode.FFMPEG_ERROR), runtime)
    assert not job_dir(runtime.settings, "vg_1").exists()


# state


async def _owned() -> set[int]:
    return {0}


async def test_stalled_jobs_fail_unless_their_work_runs_here(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path)
    state.fold(encode(StageProgress(job_id="vg_1", stage="fetch", at=0.0)), runtime)
    state.fold(encode(StageProgress(job_id="vg_3", stage="render")), runtime)
    recovery = Recovery(runtime, kafka, Deliveries(), lambda _job: 0, _owned)
    assert await recovery.fail_stalled() == ["vg_1"]
    assert kafka.on(topics.RESULTS)[0]["error"]["code"] == "PROCESSING_TIMEOUT"
    assert state.fold(b"not json", runtime) is None


# the loop


async def test_undecodable_messages_are_dead_lettered_and_the_cap_stops_the_stage(tmp_path: Path) -> None:
    runtime, kafka = make_runtime(tmp_path, dlq_cap_min_messages=3, dlq_cap_ratio=0.5)
    bad = [_record(topics.RENDERED, b"{}", offset) for offset in range(5)]
    loop = asyncio.ensure_future(run_stage(_records(*bad), "upload", JobRendered, upload.handle, runtime))
    await asyncio.sleep(0.2)
    assert not loop.done() and len(kafka.on(topics.DLQ)) == 3  # stopped at the cap: two left on the topic
    assert "undecodable" in runtime.stopped_stages["upload"]
    loop.cancel()


def test_dead_letter_guard_forgets_old_messages() -> None:
    guard = DeadLetterGuard("fetch", ratio=0.5, window_seconds=10, min_messages=4)
    assert not any(guard.record(dead=True, now=t) for t in (0, 1, 2))
    assert not guard.record(dead=False, now=20)  # the three dead ones left the window
    assert [guard.record(dead=d, now=21) for d in (True, True, True)] == [False, False, True]
