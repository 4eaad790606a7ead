"""Stage 5: announce finished jobs — the terminal event and result for uploaded jobs, and the
callback delivery (signed, retried) for every terminal result that names a callback_url."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from pydantic import ValidationError

from agents.callbacks import deliver
from agents.publish import complete, job_event, send
from agents.stage import run_stage
from schemas.events import JobResult, JobUploaded
from schemas.settings import get_settings
from streams.app import app, events_topic, results_topic, uploaded_topic
from streams.codec import decode
from streams.jsonlog import job_context

log = logging.getLogger(__name__)
CALLBACK_CONCURRENCY = 4


# Jobs this worker completed, newest last. All of a job's messages share a partition, so a
# duplicate JobUploaded (a stage redelivered after a crash) comes here, possibly before the
# job-state table has folded the first completion.
_completed: OrderedDict[str, None] = OrderedDict()
COMPLETED_MEMORY = 10_000


async def _notify(message: JobUploaded) -> None:
    job_id = message.ctx.job_id
    if job_id in _completed:
        log.info("duplicate upload of job %s ignored", job_id)
        return
    _completed[job_id] = None
    if len(_completed) > COMPLETED_MEMORY:
        _completed.popitem(last=False)
    await complete(message.ctx, message.result)


@app.agent(uploaded_topic)
async def notify_stage(stream: Any) -> None:
    await run_stage(stream.events(), "notify", JobUploaded, _notify)


@app.agent(results_topic, concurrency=CALLBACK_CONCURRENCY)
async def deliver_callbacks(stream: Any) -> None:
    async for raw in stream:
        try:
            result = decode(JobResult, raw)
        except (ValueError, ValidationError) as exc:
            log.warning("ignoring undecodable job result: %s", exc)
            continue
        if not result.callback_url:
            continue
        with job_context(result.job_id, None, "notify"):
            delivery = await deliver(result, get_settings())
            log.info(
                "callback %s after %d attempt(s)",
                "delivered" if delivery.delivered else "failed",
                delivery.attempts,
            )
            await send(
                events_topic,
                result.job_id,
                job_event(
                    result.job_id,
                    result.tenant,
                    None,
                    stage="notify",
                    status=result.status,
                    current_step="callback",
                    callback=delivery,
                ),
            )
