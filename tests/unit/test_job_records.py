"""Finished jobs' records: stored when a job ends, read by key, listed newest first a page at a time;
where an API instance starts reading the events; what it keeps in memory."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

import agents.stages.records as module
from agents.stages.records import RecordKeeper
from agents.stages.state import start_offsets
from api.jobstore import RECENT_FINISHED, JobStore
from schemas.events import (
    CallbackDelivery,
    CallbackOutcome,
    JobAccepted,
    JobEnded,
    JobState,
    StageProgress,
    apply_event,
)
from schemas.settings import Settings
from storage.jobrecords import IndexEntry, JobRecords, index_keys, index_prefix, parse_entry
from tests.unit.stage_fakes import DictJobStates
from tests.unit.test_api_websocket import RESULT

BUCKET = "records-test"


@pytest.fixture
def records() -> Iterator[JobRecords]:
    with mock_aws():
        settings = Settings(s3_bucket_name=BUCKET, aws_region="us-east-1")
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield JobRecords(settings)


def finished(
    job_id: str, submitted_ms: int, tenant: str | None = "alpha", status: str = "completed"
) -> JobState:
    accepted = JobAccepted(job_id=job_id, tenant=tenant, submitted_at_ms=submitted_ms)
    end = JobEnded(
        job_id=job_id,
        tenant=tenant,
        stage="notify",
        status=status,  # type: ignore[arg-type]
        result=RESULT if status == "completed" else None,
    )
    return apply_event(apply_event(None, accepted), end)


def test_a_record_is_read_back_by_key_and_a_missing_one_is_none(records: JobRecords) -> None:
    state = finished("vg_a", 1_000)
    records.put(state)
    assert records.get("vg_a") == state
    assert records.get("vg_missing") is None


def test_the_index_lists_newest_first_per_tenant_and_status_and_for_everyone(records: JobRecords) -> None:
    for n in range(5):
        records.put(finished(f"vg_{n}", 1_000 + n, status="failed" if n % 2 else "completed"))
    records.put(finished("vg_other", 2_000, tenant="beta"))
    ours = records.entries(index_prefix("alpha", None), None, 10)
    assert [e.job_id for e in ours] == ["vg_4", "vg_3", "vg_2", "vg_1", "vg_0"]
    assert [e.job_id for e in records.entries(index_prefix("alpha", "failed"), None, 10)] == ["vg_3", "vg_1"]
    everyone = records.entries(index_prefix(None, None, everyone=True), None, 10)
    assert [e.job_id for e in everyone][:2] == ["vg_other", "vg_4"]
    page = records.entries(index_prefix("alpha", None), ours[1].key, 2)
    assert [e.job_id for e in page] == ["vg_2", "vg_1"], "a page starts after a cursor"


def test_index_keys_never_show_the_tenants_name() -> None:
    keys = index_keys(finished("vg_x", 5, tenant="acme-corp"))
    assert len(keys) == 4 and all("acme" not in key for key in keys)
    assert {parse_entry(key).submitted_at_ms for key in keys} == {5}


def _keeper(states: DictJobStates, stored: list[tuple[JobState, bool]]) -> RecordKeeper:
    class Store:
        def put(self, state: JobState, *, indexed: bool = True) -> None:
            stored.append((state, indexed))

    async def folded_past(partition: int, offset: int) -> bool:
        return True

    return RecordKeeper(Store(), states, folded_past)


def test_the_keeper_stores_a_job_when_it_ends_and_again_with_its_callback() -> None:
    states, stored = DictJobStates(), []
    keeper = _keeper(states, stored)
    accepted = JobAccepted(job_id="vg_k", submitted_at_ms=7)
    states.put(apply_event(None, accepted))
    progress = StageProgress(job_id="vg_k", stage="render", progress_percent=50)
    assert asyncio.run(keeper.on_event(progress, 0, 1)) is None and stored == []
    end = JobEnded(job_id="vg_k", stage="notify", status="completed", result=RESULT)
    record = asyncio.run(keeper.on_event(end, 0, 2))
    assert record is not None and record.submitted_at_ms == 7, "built on the folded state"
    callback = CallbackOutcome(
        job_id="vg_k",
        status="completed",
        callback=CallbackDelivery(delivered=True, attempts=1),
    )
    states.put(record)
    asyncio.run(keeper.on_event(callback, 0, 3))
    assert [(s.status, indexed) for s, indexed in stored] == [("completed", True), ("completed", False)]
    assert stored[-1][0].callback is not None and stored[-1][0].callback.delivered


def test_the_keeper_retries_until_the_store_answers() -> None:
    class Flaky:
        calls = 0

        def put(self, state: JobState, *, indexed: bool = True) -> None:
            Flaky.calls += 1
            if Flaky.calls < 3:
                raise EndpointConnectionError(endpoint_url="http://s3")

    async def folded_past(partition: int, offset: int) -> bool:
        return True

    keeper = RecordKeeper(Flaky(), DictJobStates(), folded_past)
    end = JobEnded(job_id="vg_f", stage="validate", status="failed")
    module.RETRY_FIRST_SECONDS, saved = 0.0, module.RETRY_FIRST_SECONDS
    try:
        assert asyncio.run(keeper.on_event(end, 0, 0)) is not None
    finally:
        module.RETRY_FIRST_SECONDS = saved
    assert Flaky.calls == 3


def test_start_offsets_are_the_oldest_unfinished_jobs_first_events() -> None:
    partition_of = {"a": 0, "b": 0, "c": 1}.__getitem__
    folded = {0: 50, 1: 30, 2: 12}
    offsets = start_offsets([("a", 20), ("b", 9), ("c", 29)], partition_of, folded, [0, 1, 2])
    assert offsets == {0: 9, 1: 29, 2: 12}, "no unfinished job: where the fold is"
    assert start_offsets([("a", 20)], partition_of, folded, [1]) == {1: 30}, "only the partitions given"


class _Store(JobStore):
    async def catch_up(self, timeout: float = 0.0) -> bool:
        return True


class _Records(JobRecords):
    def __init__(self, states: list[JobState]) -> None:
        self.states = {s.job_id: s for s in states}
        self.reads: list[str] = []

    def get(self, job_id: str) -> JobState | None:
        self.reads.append(job_id)
        return self.states.get(job_id)

    def entries(self, prefix: str, after: str | None, count: int) -> list[IndexEntry]:
        """Every record is alpha's: the index of any prefix is all of them, newest first."""
        ordered = sorted(self.states.values(), key=lambda s: s.submitted_at_ms or 0, reverse=True)
        return [IndexEntry("k", s.job_id, s.submitted_at_ms or 0) for s in ordered][:count]


def test_a_page_merges_the_jobs_in_memory_with_the_records_index() -> None:
    stored = [finished(f"vg_old{n}", 100 + n) for n in range(5)]
    records = _Records(stored)
    store = _Store(Settings(), records)
    store._fold(JobAccepted(job_id="vg_new", tenant="alpha", submitted_at_ms=900))
    page, more = asyncio.run(store.page("alpha", None, 3, 0))
    assert [s.job_id for s in page] == ["vg_new", "vg_old4", "vg_old3"] and more
    page, more = asyncio.run(store.page("alpha", None, 3, 3))
    assert [s.job_id for s in page] == ["vg_old2", "vg_old1", "vg_old0"] and not more
    assert set(records.reads) <= {s.job_id for s in stored}, "only the page's records are read"
    page, _ = asyncio.run(store.page("alpha", "queued", 10, 0))
    assert [s.job_id for s in page] == ["vg_new"], "an unfinished status is in memory only"


def test_memory_holds_the_unfinished_jobs_and_a_bounded_number_of_finished_ones() -> None:
    store = _Store(Settings(), _Records([]))
    for n in range(RECENT_FINISHED + 50):
        store._fold(JobAccepted(job_id=f"vg_{n}"))
        store._fold(JobEnded(job_id=f"vg_{n}", stage="validate", status="failed"))
    store._fold(JobAccepted(job_id="vg_running"))
    assert store.backlog == 1 and len(store._finished) == RECENT_FINISHED


def test_events_of_a_job_that_began_before_the_start_offsets_are_left_to_its_record() -> None:
    old = finished("vg_before", 1)
    store = _Store(Settings(), _Records([old]))
    late = CallbackOutcome(
        job_id="vg_before",
        status="completed",
        callback=CallbackDelivery(delivered=True, attempts=1),
    )
    store._fold(late)
    assert store.backlog == 0
    assert asyncio.run(store.get("vg_before")) == old, "read from its record"
