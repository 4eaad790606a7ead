"""The API's view of the jobs: the unfinished ones and the recently finished ones, folded from
`videogen.jobs.events` with the same `apply_event` the workers' Faust table uses, and any other
finished job read by its key from its record in the bucket (storage/jobrecords.py).

Each API instance reads the events topic (no consumer group) from where the workers' bookmark says
the oldest unfinished job began (streams/bookmark.py), so what it reads at start and what it holds
are bounded by the jobs running now and a cache, never by every job ever run. A job the instance has
not seen yet is looked up again after catching up to the topic's end offsets taken at lookup time:
an id returned by any POST has its `queued` event below those offsets, so a GET right after a POST
never 404s; a job not on the log since the bookmark is read from its record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, defaultdict
from collections.abc import AsyncGenerator

from aiokafka import ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from analytics import metrics
from api.topicfold import TopicFold
from schemas.events import JOB_EVENT, Ahead, JobAccepted, JobEvent, JobState, JobStatus, Workload, apply_event
from schemas.settings import Settings
from storage.jobrecords import JobRecords, index_prefix, listed_at_ms
from streams.admin import group_members
from streams.bookmark import Bookmark
from streams.codec import decode
from streams.topics import API_START_GROUP, APP_ID, EVENTS

log = logging.getLogger(__name__)

WORKERS_REFRESH_SECONDS = 10.0
# Finished jobs kept in memory after their end (GETs polling for the result, the listing of jobs
# whose records are being stored); older ones are read from their records.
RECENT_FINISHED = 1_000
LISTED_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
RECORD_READS = 8


def begins_job(event: JobEvent) -> bool:
    """Whether the event may be a job's first on the log: its accepted event, or one of its validate
    stage for a job published straight to Kafka. A job first seen from a later event ended before
    this instance's start offsets."""
    return isinstance(event, JobAccepted) or event.stage == "validate"


class JobStore(TopicFold):
    topic = EVENTS

    def __init__(self, settings: Settings, records: JobRecords | None = None) -> None:
        super().__init__(settings)
        self._states: dict[str, JobState] = {}  # the unfinished jobs
        self._finished: OrderedDict[str, JobState] = OrderedDict()  # the most recent ends
        self._workloads: dict[str, Workload] = {}  # of the unfinished jobs
        self._records = records or JobRecords(settings)
        self._bookmark = Bookmark(settings, API_START_GROUP, EVENTS)
        self.workers = 1
        self._admin: AIOKafkaAdminClient | None = None
        self._workers_task: asyncio.Task[None] | None = None
        self._watchers: defaultdict[str, set[asyncio.Queue[JobState]]] = defaultdict(set)

    async def start(self) -> None:
        await super().start()
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self._settings.bootstrap_servers)
        await self._admin.start()
        self._workers_task = asyncio.create_task(self._count_workers(), name="jobstore-workers")

    async def _start_offsets(self) -> dict[int, int]:
        try:
            return await self._bookmark.load()
        finally:
            await self._bookmark.stop()

    async def stop(self) -> None:
        if self._workers_task:
            self._workers_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._workers_task
        if self._admin:
            await self._admin.close()
        await super().stop()

    async def _count_workers(self) -> None:
        """Keep `workers` at the size of the workers' consumer group (the estimate shares the work
        ahead of a job among them); the last count stays while the broker does not answer."""
        assert self._admin is not None
        while True:
            try:
                self.workers = max(1, await group_members(self._admin, APP_ID))
            except Exception as exc:
                log.warning("counting the workers failed; keeping %d: %s", self.workers, exc)
            await asyncio.sleep(WORKERS_REFRESH_SECONDS)

    def _apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        metrics.API_EVENTS_FOLDED.inc()
        try:
            event = decode(JOB_EVENT, record.value or b"")
        except (ValueError, ValidationError):
            log.warning("ignoring undecodable job event")
            return
        self._fold(event)

    def _fold(self, event: JobEvent) -> None:
        job_id = event.job_id
        known = self._known(job_id)
        if known is None and not begins_job(event):
            return  # a job that ended before the start offsets (a late callback): its record says it
        state = apply_event(known, event)
        if state.terminal:
            self._states.pop(job_id, None)
            self._workloads.pop(job_id, None)
            self._remember_finished(state)
        else:
            self._states[job_id] = state
            if isinstance(event, JobAccepted) and event.workload is not None:
                self._workloads[job_id] = event.workload
        for queue in self._watchers.get(job_id, ()):
            queue.put_nowait(state)
        metrics.API_JOBS_HELD.labels("unfinished").set(len(self._states))

    def _remember_finished(self, state: JobState) -> None:
        self._finished[state.job_id] = state
        self._finished.move_to_end(state.job_id)
        while len(self._finished) > RECENT_FINISHED:
            self._finished.popitem(last=False)
        metrics.API_JOBS_HELD.labels("finished").set(len(self._finished))

    def _known(self, job_id: str) -> JobState | None:
        return self._states.get(job_id) or self._finished.get(job_id)

    @property
    def backlog(self) -> int:
        """Jobs accepted and not yet finished, across all instances and workers."""
        return len(self._states)

    def ahead(self) -> Ahead:
        """What a job accepted now finds ahead of it: the unfinished jobs' workloads, each by the
        share its progress leaves."""
        return Ahead.of(
            (load, 1 - self._states[job_id].progress_percent / 100)
            for job_id, load in self._workloads.items()
        )

    def record(self, accepted: JobAccepted) -> None:
        """Count a job this instance accepts at once, not when its event comes back from Kafka,
        so a tenant's POSTs in quick succession cannot slip past the in-flight cap."""
        if self._known(accepted.job_id) is None:
            self._fold(accepted)

    def forget(self, job_id: str) -> None:
        """Drop a recorded job whose publication failed."""
        self._states.pop(job_id, None)
        self._workloads.pop(job_id, None)

    def in_flight(self, tenant: str) -> int:
        """Unfinished jobs of one tenant (the per-tenant cap)."""
        return sum(1 for state in self._states.values() if state.tenant == tenant)

    async def get(self, job_id: str) -> JobState | None:
        """The job's state: from memory, else from its record (a finished job's final state), else
        from memory after catching up with the topic (a job accepted a moment ago elsewhere)."""
        state = self._known(job_id)
        if state is None:
            state = await asyncio.to_thread(self._records.get, job_id)
            metrics.API_RECORD_READS.labels("missing" if state is None else "found").inc()
            if state is not None:
                self._remember_finished(state)
        if state is None:
            await self.catch_up()
            state = self._known(job_id)
        return state

    async def page(
        self, tenant: str | None, status: JobStatus | None, limit: int, offset: int
    ) -> tuple[list[JobState], bool]:
        """Jobs `offset` to `offset + limit` of the caller's (everyone's when `tenant` is None),
        newest first, and whether more follow. The jobs in memory are merged with the records'
        index, read only as far as this page: a page costs its offset and length, whatever the
        history."""
        await self.catch_up()  # a list asked for right after a POST shows the job
        wanted = offset + limit + 1
        held = [
            state
            for state in [*self._states.values(), *self._finished.values()]
            if (tenant is None or state.tenant == tenant) and (status is None or state.status == status)
        ]
        listed: dict[str, int] = {}
        if status is None or status in LISTED_STATUSES:
            prefix = index_prefix(tenant, status, everyone=tenant is None)
            entries = await asyncio.to_thread(self._records.entries, prefix, None, wanted)
            listed |= {entry.job_id: entry.submitted_at_ms for entry in entries}
        listed |= {state.job_id: listed_at_ms(state) for state in held}
        order = sorted(((at, job_id) for job_id, at in listed.items()), reverse=True)
        chosen = [job_id for _, job_id in order[offset : offset + limit]]
        found = {state.job_id: state for state in held}
        missing = [job_id for job_id in chosen if job_id not in found]
        reads = asyncio.Semaphore(RECORD_READS)

        async def read(job_id: str) -> JobState | None:
            async with reads:
                return await asyncio.to_thread(self._records.get, job_id)

        for state in await asyncio.gather(*(read(job_id) for job_id in missing)):
            if state is not None:
                found[state.job_id] = state
        return [found[job_id] for job_id in chosen if job_id in found], len(order) > offset + limit

    async def watch(self, job_id: str) -> AsyncGenerator[JobState, None]:
        """Every new state of the job, starting with the current one, until it ends."""
        queue: asyncio.Queue[JobState] = asyncio.Queue()
        self._watchers[job_id].add(queue)
        try:
            current = await self.get(job_id)
            if current is None:
                return
            yield current
            while not current.terminal:
                current = await queue.get()
                yield current
        finally:
            self._watchers[job_id].discard(queue)
            if not self._watchers[job_id]:
                del self._watchers[job_id]

    async def wait_until_terminal(self, job_id: str, timeout: float) -> JobState | None:
        """The job's final state if it ends within `timeout`, else None."""

        async def final() -> JobState | None:
            last = None
            async for seen in self.watch(job_id):
                last = seen
            return last

        try:
            return await asyncio.wait_for(final(), timeout)
        except TimeoutError:
            return None
