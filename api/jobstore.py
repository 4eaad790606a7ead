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

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from schemas.events import Ahead, JobEvent, JobState, Workload, apply_event
from schemas.settings import Settings
from streams.admin import group_members
from streams.codec import decode
from streams.topics import APP_ID, EVENTS

log = logging.getLogger(__name__)

CATCH_UP_TIMEOUT_SECONDS = 5.0
WORKERS_REFRESH_SECONDS = 10.0


class JobStore:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._states: dict[str, JobState] = {}
        self._active: set[str] = set()
        self._workloads: dict[str, Workload] = {}  # of the unfinished jobs
        self.workers = 1
        self._admin: AIOKafkaAdminClient | None = None
        self._workers_task: asyncio.Task[None] | None = None
        self._watchers: defaultdict[str, set[asyncio.Queue[JobState]]] = defaultdict(set)
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._task: asyncio.Task[None] | None = None
        self._advanced = asyncio.Event()

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self._settings.kafka_fetch_max_wait_ms,
        )
        await self._consumer.start()
        partitions = await self._wait_for_partitions()
        self._partitions = [TopicPartition(EVENTS, p) for p in sorted(partitions)]
        self._consumer.assign(self._partitions)
        await self._consumer.seek_to_beginning(*self._partitions)
        self._task = asyncio.create_task(self._run(), name="jobstore")
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self._settings.bootstrap_servers)
        await self._admin.start()
        self._workers_task = asyncio.create_task(self._count_workers(), name="jobstore-workers")

    async def _wait_for_partitions(self) -> set[int]:
        assert self._consumer is not None
        for _ in range(100):
            partitions = self._consumer.partitions_for_topic(EVENTS)
            if partitions:
                return partitions
            await self._consumer.topics()
            await asyncio.sleep(0.2)
        raise RuntimeError(f"topic {EVENTS} not found: start the worker (it creates the topics) first")

    async def stop(self) -> None:
        for task in (self._task, self._workers_task):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._admin:
            await self._admin.close()
        if self._consumer:
            await self._consumer.stop()

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

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=1000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading job events failed; retrying")
                await asyncio.sleep(1)
                continue
            for records in batches.values():
                for record in records:
                    self._apply(record.value)
            self._advanced.set()
            self._advanced = asyncio.Event()

    def _apply(self, raw: bytes | None) -> None:
        try:
            event = decode(JobEvent, raw or b"")
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

    async def catch_up(self, timeout: float = CATCH_UP_TIMEOUT_SECONDS) -> bool:
        """Wait until everything on the events topic as of now has been folded in."""
        assert self._consumer is not None
        ends = await self._consumer.end_offsets(self._partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await self._reached(ends):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._advanced.wait(), remaining)
        return True

    async def _reached(self, ends: dict[TopicPartition, int]) -> bool:
        assert self._consumer is not None
        for tp, end in ends.items():
            if await self._consumer.position(tp) < end:
                return False
        return True

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
