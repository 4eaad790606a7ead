"""The API's view of every job: `videogen.jobs.events` folded with the same `apply_event` the
workers' Faust table uses.

Each API instance reads the whole events topic (no consumer group), so GET and SSE work on
any instance. A job the instance has not seen yet is looked up again after catching up to
the topic's end offsets taken at lookup time: an id returned by any POST has its `queued`
event below those offsets, so a GET right after a POST never 404s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncGenerator

from aiokafka import ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from api.topicfold import TopicFold
from schemas.events import Ahead, JobEvent, JobState, Workload, apply_event
from schemas.settings import Settings
from streams.admin import group_members
from streams.codec import decode
from streams.topics import APP_ID, EVENTS

log = logging.getLogger(__name__)

WORKERS_REFRESH_SECONDS = 10.0


class JobStore(TopicFold):
    topic = EVENTS

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._states: dict[str, JobState] = {}
        self._active: set[str] = set()
        self._workloads: dict[str, Workload] = {}  # of the unfinished jobs
        self.workers = 1
        self._admin: AIOKafkaAdminClient | None = None
        self._workers_task: asyncio.Task[None] | None = None
        self._watchers: defaultdict[str, set[asyncio.Queue[JobState]]] = defaultdict(set)

    async def start(self) -> None:
        await super().start()
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self._settings.bootstrap_servers)
        await self._admin.start()
        self._workers_task = asyncio.create_task(self._count_workers(), name="jobstore-workers")

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
        try:
            event = decode(JobEvent, record.value or b"")
        except (ValueError, ValidationError):
            log.warning("ignoring undecodable job event")
            return
        self._fold(event)

    def _fold(self, event: JobEvent) -> None:
        state = apply_event(self._states.get(event.job_id), event)
        self._states[event.job_id] = state
        if state.terminal:
            self._active.discard(event.job_id)
            self._workloads.pop(event.job_id, None)
        else:
            self._active.add(event.job_id)
            if event.workload is not None:
                self._workloads[event.job_id] = event.workload
        for queue in self._watchers.get(event.job_id, ()):
            queue.put_nowait(state)

    @property
    def backlog(self) -> int:
        """Jobs accepted and not yet finished, across all instances and workers."""
        return len(self._active)

    def ahead(self) -> Ahead:
        """What a job accepted now finds ahead of it: the unfinished jobs' workloads, each by the
        share its progress leaves."""
        return Ahead.of(
            (load, 1 - self._states[job_id].progress_percent / 100)
            for job_id, load in self._workloads.items()
        )

    def record(self, accepted: JobEvent) -> None:
        """Count a job this instance accepts at once, not when its event comes back from Kafka,
        so a tenant's POSTs in quick succession cannot slip past the in-flight cap."""
        if accepted.job_id not in self._states:
            self._fold(accepted)

    def forget(self, job_id: str) -> None:
        """Drop a recorded job whose publication failed."""
        self._states.pop(job_id, None)
        self._active.discard(job_id)
        self._workloads.pop(job_id, None)

    def in_flight(self, tenant: str) -> int:
        """Unfinished jobs of one tenant (the per-tenant cap)."""
        return sum(1 for job_id in self._active if self._states[job_id].tenant == tenant)

    async def get(self, job_id: str) -> JobState | None:
        """The job's state, catching up with the topic first when this instance has not seen it."""
        state = self._states.get(job_id)
        if state is None:
            await self.catch_up()
            state = self._states.get(job_id)
        return state

    async def listing(self) -> list[JobState]:
        """Every job this instance has folded, after catching up with the topic's end (a list
        asked for right after a POST shows the job)."""
        await self.catch_up()
        return list(self._states.values())

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
