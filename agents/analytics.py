"""The analytics agent: every JobEvent becomes metrics and ClickHouse rows, and `/metrics` on the worker.

Rows go through the batching sink, so this agent never waits for the store; rows still buffered
when a worker crashes are lost to analytics (a graceful stop flushes them), never to the pipeline.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import ValidationError

from analytics import metrics
from analytics.client import client_from_settings
from analytics.rows import rows_for
from analytics.sink import AnalyticsSink
from schemas.events import JOB_EVENT, JobEvent
from schemas.settings import get_settings
from streams.app import app, events_topic
from streams.codec import decode
from streams.topics import ALL_TOPICS, COMPACTED

log = logging.getLogger(__name__)

PIPELINE_TOPICS = frozenset(ALL_TOPICS) - COMPACTED

settings = get_settings()
sink = AnalyticsSink(
    lambda: client_from_settings(settings),
    batch_size=settings.analytics_batch_size,
    flush_seconds=settings.analytics_flush_seconds,
    buffer_max=settings.analytics_buffer_max,
    timeout=settings.analytics_timeout_seconds,
)


def record(event: JobEvent) -> None:
    metrics.observe_event(event)
    for table, row in rows_for(event, settings.quick_response_threshold_seconds):
        sink.add(table, row)


@app.agent(events_topic)
async def record_job_events(stream: Any) -> None:
    async for raw in stream:
        try:
            record(decode(JOB_EVENT, raw))
        except (ValueError, ValidationError) as exc:
            log.warning("analytics: ignoring undecodable job event: %s", exc)


@app.task
async def flush_analytics() -> None:
    await sink.run()


async def flush_on_shutdown(_app: Any, **_: Any) -> None:
    """After the consumer stopped: insert what is buffered, within one store timeout."""
    try:
        await asyncio.wait_for(sink.close(), settings.analytics_timeout_seconds)
    except TimeoutError:
        log.warning("analytics: %d rows not flushed at shutdown", sink.pending)


# mode types handlers with a mypy-extensions NamedArg it cannot match to an async def.
app.on_before_shutdown.connect(flush_on_shutdown)  # type: ignore[arg-type]


async def update_consumer_lag() -> None:
    """Per pipeline topic, the messages between this worker's fetch position and the end of its
    partitions. The changelog is left out: an active table writes it rather than reads it."""
    consumer = app.consumer
    lag: dict[str, int] = {}
    for tp in consumer.assignment():
        if tp.topic not in PIPELINE_TOPICS:
            continue
        high = consumer.highwater(tp)
        position = await consumer.position(tp)
        if high is not None and position is not None:
            lag[tp.topic] = lag.get(tp.topic, 0) + max(0, high - position)
    metrics.set_consumer_lag(lag)


@app.page("/metrics")
async def metrics_page(web: Any, request: Any) -> Any:
    """Prometheus text for this worker."""
    try:
        await update_consumer_lag()
    except Exception as exc:  # a worker between rebalances has no assignment to measure
        log.debug("consumer lag unavailable: %s", exc)
    body, content_type = metrics.render()
    return web.bytes(body, headers={"Content-Type": content_type})
