"""An in-memory runtime for stage handlers: what they send is recorded, and job events are folded
into the job states as the worker's table would fold them (at once, or held back to model lag)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from agents.stages.runtime import Bus, StageRuntime
from schemas.events import JOB_EVENT, JobContext, JobState, apply_event
from schemas.settings import Settings
from schemas.spec import VideoSpec
from streams import topics


class DictJobStates:
    """Job states in a dict, as the worker's table adapter (agents.wiring) serves them."""

    def __init__(self) -> None:
        self.states: dict[str, JobState] = {}

    def get(self, job_id: str) -> JobState | None:
        return self.states.get(job_id)

    def unfinished(self) -> Iterable[JobState]:
        return [state for state in self.states.values() if not state.terminal]

    def put(self, state: JobState, offset: int | None = None) -> None:
        self.states[state.job_id] = state


@dataclass
class Sent:
    topic: str
    key: str
    value: dict[str, Any]
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass(frozen=True)
class LogEntry:
    """One record as a consumer reads it back (every test job's messages on partition 0)."""

    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int
    headers: Sequence[tuple[str, bytes]] = ()


@dataclass
class FakeKafka:
    states: DictJobStates
    fold_events: bool = True
    sent: list[Sent] = field(default_factory=list)
    log: dict[str, list[LogEntry]] = field(default_factory=dict)
    committed_offsets: dict[str, int] = field(default_factory=dict)
    now_ms: int | None = None

    def append(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        timestamp_ms: int | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> LogEntry:
        entries = self.log.setdefault(topic, [])
        at = timestamp_ms if timestamp_ms is not None else self.now_ms or int(time.time() * 1000)
        entries.append(LogEntry(len(entries), key, value, at, headers))
        return entries[-1]

    async def find(self, topic: str, partition: int, key: bytes, since_ms: int) -> list[LogEntry]:
        return [e for e in self.log.get(topic, []) if e.key == key and e.timestamp >= since_ms]

    async def committed(self, topic: str, partition: int) -> int | None:
        return self.committed_offsets.get(topic)

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        payload = orjson.loads(value)
        self.sent.append(Sent(topic, key.decode(), payload, list(headers)))
        self.append(topic, key, value, headers=headers)
        if topic == topics.EVENTS and self.fold_events:
            event = JOB_EVENT.validate_python(payload)
            self.states.put(apply_event(self.states.get(event.job_id), event))

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [s.value for s in self.sent if s.topic == topic]

    def events(self, **match: Any) -> list[dict[str, Any]]:
        return [e for e in self.on(topics.EVENTS) if all(e.get(k) == v for k, v in match.items())]


def make_runtime(
    tmp_path: Path, *, fold_events: bool = True, **settings: Any
) -> tuple[StageRuntime, FakeKafka]:
    states = DictJobStates()
    kafka = FakeKafka(states, fold_events)
    config = Settings(data_dir=tmp_path, ffmpeg_threads=1, **settings)
    return StageRuntime(bus=Bus(kafka.send, states, worker="w1"), states=states, settings=config), kafka


def color_ctx(job_id: str = "vg_1", seconds: float = 1.0) -> JobContext:
    spec = VideoSpec.model_validate(
        {"width": 64, "height": 64, "duration": seconds, "elements": [{"type": "color", "color": "#ff0000"}]}
    )
    return JobContext(job_id=job_id, submitted_at_ms=1, estimated_seconds=1.0, spec=spec)
