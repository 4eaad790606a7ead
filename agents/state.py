"""Job-state wiring: `videogen.jobs.events` folded into the `job_state` table; stuck jobs re-driven,
stalled ones failed (agents/stages/recovery.py)."""

from __future__ import annotations

import logging
from typing import Any

from agents.stages.state import fold, start_offsets
from agents.wiring import (
    folded,
    log_reader,
    note_folded,
    partition_of,
    ready_partitions,
    recovery,
    runtime,
    states,
)
from schemas.settings import get_settings
from streams.app import app, events_topic
from streams.bookmark import Bookmark
from streams.topics import API_START_GROUP, EVENTS

log = logging.getLogger(__name__)

STALL_CHECK_SECONDS = 30.0
REDRIVE_CHECK_SECONDS = 2.0
START_OFFSETS_SECONDS = 5.0

api_start = Bookmark(get_settings(), API_START_GROUP, EVENTS)


@app.agent(events_topic)
async def fold_job_events(stream: Any) -> None:
    async for event in stream.events():
        fold(event.value, runtime, event.message.offset)
        note_folded(event.message.partition, event.message.offset)


@app.timer(REDRIVE_CHECK_SECONDS)
async def redrive_stuck_jobs() -> None:
    try:
        await recovery.redrive()
    except Exception:  # an exception in a Faust timer stops the whole worker
        log.exception("recovery check failed; trying again in %gs", REDRIVE_CHECK_SECONDS)


@app.timer(STALL_CHECK_SECONDS)
async def check_stalled_jobs() -> None:
    try:
        await recovery.fail_stalled()
    except Exception:
        log.exception("stalled-job check failed; trying again in %gs", STALL_CHECK_SECONDS)


@app.timer(START_OFFSETS_SECONDS)
async def leave_api_start_offsets() -> None:
    """Where an API instance starts reading the events: see streams/bookmark.py."""
    try:
        offsets = start_offsets(states.first_offsets(), partition_of, folded, await ready_partitions())
        await api_start.save(offsets)
    except Exception:
        log.exception("leaving the API's start offsets failed; trying again in %gs", START_OFFSETS_SECONDS)


@app.on_before_shutdown.connect
async def stop_log_reader(app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
    await log_reader.stop()
    await api_start.stop()


@app.page("/health")
async def worker_health(web: Any, request: Any) -> Any:
    """Liveness of the worker, and the stages that stopped consuming (dead-letter cap) with why."""
    if runtime.stopped_stages:
        return web.json({"status": "unhealthy", "stopped_stages": runtime.stopped_stages}, status=503)
    return web.json({"status": "healthy"})
