"""Recovery driven by job state, checked against the log (docs/recovery.md).

The owner of a job's partition looks at its unfinished jobs every few seconds. A job with no
progress for STAGE_ATTEMPT_STALE_SECONDS whose stage message no consumer will read (this worker's
agent was handed later offsets of that partition, the group committed past it, or the consumer
fetched past it while its agent, idle all along, was never handed it) has that message published again;
idempotent stages skip or join work already done. Only a job re-driven MAX_STAGE_REDRIVES times
without progress, or silent for STALLED_JOB_MINUTES, is failed, and only after the job's own
events on the log say it has not ended.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from agents.stages.runtime import LOG_MARGIN_SECONDS, BoundedIds, StageRuntime
from schemas.errors import ErrorCode, JobError
from schemas.events import JOB_EVENT, PIPELINE, JobEnded, JobEvent, JobState, Stage, apply_event
from streams import topics
from streams.codec import decode, key_bytes
from streams.jsonlog import job_context

log = logging.getLogger(__name__)

# How long a stage's agent must have had nothing in hand before a message its consumer fetched past
# counts as dropped (a rebalance pauses agents for several seconds with messages still buffered).
DROPPED_BUFFER_IDLE_SECONDS = 30.0

INPUT_TOPIC: dict[Stage, str] = {
    "validate": topics.REQUESTED,
    "fetch": topics.VALIDATED,
    "render": topics.FETCHED,
    "upload": topics.RENDERED,
    "notify": topics.UPLOADED,
}


@dataclass(frozen=True)
class Pending:
    """The stage a job waits on, the topic its message is on, and when that message was sent."""

    stage: Stage
    topic: str
    since: float


def pending_stage(state: JobState) -> Pending | None:
    reached = [stage for stage in PIPELINE if stage in state.stages]
    if not reached:
        return Pending("validate", topics.REQUESTED, state.started_at or state.updated_at)
    last = reached[-1]
    record = state.stages[last]
    if record.status == "started":
        before = [state.stages[s] for s in reached[:-1]]
        since = before[-1].finished_at if before and before[-1].finished_at else record.started_at
        return Pending(last, INPUT_TOPIC[last], since or state.updated_at)
    following = PIPELINE[PIPELINE.index(last) + 1 :]
    if not following:
        return None
    return Pending(following[0], INPUT_TOPIC[following[0]], record.finished_at or state.updated_at)


class Deliveries:
    """What this worker's stage agents were handed: the highest offset per input partition, the
    jobs whose stage messages they finished handling (bounded), and per topic how long its agent
    has had nothing in hand. A message still being handled counts only towards the highest offset:
    its job may sit still a while (waiting for its partition's events to be folded) without being
    stuck."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._since = clock()
        self._highest: dict[tuple[str, int], int] = {}
        self._in_hand: Counter[str] = Counter()
        self._last_change: dict[str, float] = {}
        self._handled = BoundedIds()

    def record(self, topic: str, partition: int, offset: int) -> None:
        place = (topic, partition)
        self._highest[place] = max(offset, self._highest.get(place, -1))
        self._in_hand[topic] += 1
        self._last_change[topic] = self._clock()

    def handled(self, topic: str, key: bytes | None) -> None:
        self._in_hand[topic] = max(0, self._in_hand[topic] - 1)
        self._last_change[topic] = self._clock()
        if key:
            self._handled.add(f"{topic}:{key.decode('utf-8', 'replace')}")

    def highest(self, topic: str, partition: int) -> int:
        return self._highest.get((topic, partition), -1)

    def idle_for(self, topic: str) -> float:
        """Seconds the topic's agent has had no message in hand (0 while it has one). An agent idle
        that long has nothing buffered: it takes a buffered message as soon as it is free."""
        if self._in_hand[topic]:
            return 0.0
        return self._clock() - self._last_change.get(topic, self._since)

    def saw(self, topic: str, job_id: str) -> bool:
        """This worker finished handling the job's message from `topic`."""
        return f"{topic}:{job_id}" in self._handled


class Log(Protocol):
    async def find(self, topic: str, partition: int, key: bytes, since_ms: int) -> list[Any]: ...

    async def committed(self, topic: str, partition: int) -> int | None: ...


@dataclass
class Recovery:
    runtime: StageRuntime
    log: Log
    deliveries: Deliveries
    partition_of: Callable[[str], int]
    # The events partitions this worker owns and whose job states have caught up with the log.
    ready_partitions: Callable[[], Awaitable[set[int]]]
    # Where this worker's stage consumer will fetch next on a partition it owns (None otherwise).
    fetch_position: Callable[[str, int], Awaitable[int | None]] | None = None

    def __post_init__(self) -> None:
        self._redrives: dict[tuple[str, Stage], int] = {}

    async def events_since(self, job_id: str, since: float) -> list[JobEvent]:
        records = await self.log.find(
            topics.EVENTS, self.partition_of(job_id), key_bytes(job_id), int(since * 1000)
        )
        events = []
        for record in records:
            try:
                events.append(decode(JOB_EVENT, record.value or b""))
            except (ValueError, ValidationError):
                continue
        return events

    async def state_from_log(self, job_id: str, since: float) -> JobState | None:
        """The job's state as its events since `since` (less the clocks' margin) tell it."""
        state = None
        for event in await self.events_since(job_id, since - LOG_MARGIN_SECONDS):
            state = apply_event(state, event)
        return state

    async def ended_in_log(self, job_id: str, since: float) -> bool:
        """Whether the job's events since `since` include its end: what the bus asks before it
        announces one, so a worker with a stale copy of a job never ends it a second time."""
        return any(isinstance(event, JobEnded) for event in await self.events_since(job_id, since))

    async def _caught_up_state(self, state: JobState) -> JobState:
        """The job's state with any of its events that the local copy missed folded in. Only
        decided on, not stored: Faust tables take writes only from a stream's own iteration, and
        the fold agent stores what the events say when it reads them."""
        newer = [
            event
            for event in await self.events_since(state.job_id, state.updated_at - LOG_MARGIN_SECONDS)
            if event.at > state.updated_at or isinstance(event, JobEnded)
        ]
        if not newer:
            return state
        log.info("job %s: %d events newer than this worker's copy of its state", state.job_id, len(newer))
        for event in newer:
            state = apply_event(state, event)
        if state.terminal:  # not read again, and no stage of it runs here
            self.runtime.bus.learned_end(state.job_id)
        return state

    async def _candidates(self, idle_seconds: float, now: float) -> list[JobState]:
        ready = await self.ready_partitions()
        found = []
        for state in self.runtime.states.unfinished():
            job_id = state.job_id
            if (
                state.terminal
                or now - state.updated_at < idle_seconds
                or self.runtime.work.running(job_id)
                or self.partition_of(job_id) not in ready
                or self.runtime.bus.ended(job_id)  # an end learned from the log
            ):
                continue
            found.append(state)
        return found

    async def redrive(self, now: float | None = None) -> list[str]:
        """Publish again the stage message of every stuck job no consumer will read; fail a job
        re-driven MAX_STAGE_REDRIVES times that still made no progress."""
        now = time.time() if now is None else now
        settings = self.runtime.settings
        redriven = []
        for stale in await self._candidates(settings.stage_attempt_stale_seconds, now):
            state = await self._caught_up_state(stale)
            pending = pending_stage(state)
            if (
                state.terminal
                or pending is None
                or now - state.updated_at < settings.stage_attempt_stale_seconds
            ):
                continue
            with job_context(state.job_id, None, pending.stage):
                if await self._redrive_one(state, pending):
                    redriven.append(state.job_id)
        return redriven

    async def _redrive_one(self, state: JobState, pending: Pending) -> bool:
        job_id, partition = state.job_id, self.partition_of(state.job_id)
        found = await self.log.find(
            pending.topic, partition, key_bytes(job_id), int((pending.since - LOG_MARGIN_SECONDS) * 1000)
        )
        if not found:
            log.warning(
                "no %s message of the job on %s[%d] to re-drive", pending.stage, pending.topic, partition
            )
            return False
        message = found[-1]
        committed = await self.log.committed(pending.topic, partition)
        if self.deliveries.saw(pending.topic, job_id):
            why = "handled here and the job did not move"
        elif self.deliveries.highest(pending.topic, partition) > message.offset:
            why = "its agent was handed later offsets"
        elif committed is not None and committed > message.offset:
            why = f"the group committed past it ({committed})"
        elif await self._fetched_and_dropped(pending.topic, partition, message.offset):
            why = "fetched past it while its agent sat idle"
        else:  # still ahead of this worker's consumer: waiting its turn
            return False
        key = (job_id, pending.stage)
        count = self._redrives.get(key, 0)
        if count >= self.runtime.settings.max_stage_redrives:
            await self._fail(
                state,
                f"the {pending.stage} stage made no progress after its message was published again "
                f"{count} times; submit the job again",
            )
            return False
        self._redrives[key] = count + 1
        log.warning(
            "re-driving the %s stage: its message %s[%d]@%d is behind every consumer: %s (attempt %d)",
            pending.stage, pending.topic, partition, message.offset, why, count + 1,
        )  # fmt: skip
        await self.runtime.bus.resend(
            pending.topic, message.key or key_bytes(job_id), message.value or b"", message.headers
        )
        self._forget_older_than(state.job_id, pending.stage)
        return True

    async def _fetched_and_dropped(self, topic: str, partition: int, offset: int) -> bool:
        """The consumer fetched past the message while the topic's agent, idle all along, was never
        handed it: a rebalance cleared the buffer it was in. With no later message on the partition,
        neither the agent's offsets nor the group's commits would ever show it. An agent busy with
        other partitions' messages, or paused by a rebalance, may still have it buffered: only an
        agent idle for DROPPED_BUFFER_IDLE_SECONDS, longer than a rebalance, has none."""
        if self.fetch_position is None or self.deliveries.idle_for(topic) < DROPPED_BUFFER_IDLE_SECONDS:
            return False
        position = await self.fetch_position(topic, partition)
        handed = self.deliveries.highest(topic, partition)
        return position is not None and position > offset and handed < offset

    def _forget_older_than(self, job_id: str, stage: Stage) -> None:
        for earlier in PIPELINE[: PIPELINE.index(stage)]:
            self._redrives.pop((job_id, earlier), None)

    async def fail_stalled(self, now: float | None = None) -> list[str]:
        """A job silent for STALLED_JOB_MINUTES (its own events on the log say so too) will not
        finish by itself."""
        limit = self.runtime.settings.stalled_job_minutes * 60
        now = time.time() if now is None else now
        failed = []
        for stale in await self._candidates(limit, now):
            state = await self._caught_up_state(stale)
            if state.terminal or now - state.updated_at < limit:
                continue
            await self._fail(
                state,
                f"no progress for {limit / 60:g} minutes in the {state.stage} stage; submit the job again",
            )
            failed.append(state.job_id)
        return failed

    async def _fail(self, state: JobState, message: str) -> None:
        with job_context(state.job_id, None, state.stage):
            await self.runtime.bus.fail(
                state.job_id,
                state.stage,
                JobError(ErrorCode.PROCESSING_TIMEOUT, message),
                tenant=state.tenant,
                batch=state.batch,
                since=state.started_at,
            )
