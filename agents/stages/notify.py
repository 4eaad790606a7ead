"""Stage 5: announce finished jobs — the terminal event and result for uploaded jobs — and
deliver every terminal result that names a callback_url (signed, retried). The end of a job that
belongs to a batch goes to the batch instead (`videogen.batches.items`): the batch sends one
callback for all its jobs (agents/stages/batches.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pydantic import ValidationError

from agents.callbacks import deliver
from agents.stages.runtime import StageRuntime
from schemas.batches import BatchItemEnded
from schemas.events import CallbackOutcome, JobResult, JobUploaded
from streams import topics
from streams.codec import decode
from streams.jsonlog import job_context
from streams.tracing import stage_span

log = logging.getLogger(__name__)


async def handle(message: JobUploaded, runtime: StageRuntime) -> None:
    """All of a job's messages share a partition, so a second JobUploaded of the job (a stage
    redelivered after a crash) comes here, and the bus drops its second completion."""
    if await runtime.bus.complete(message.ctx, message.result):
        runtime.work.mark_handed_off("notify", message.ctx.job_id)


async def deliver_callback(
    value: bytes | None, runtime: StageRuntime, headers: Sequence[tuple[str, bytes]] = ()
) -> None:
    """`headers`: the record's, whose trace context the delivery's span continues."""
    try:
        result = decode(JobResult, value or b"")
    except (ValueError, ValidationError) as exc:
        log.warning("ignoring undecodable job result: %s", exc)
        return
    if result.batch is None and not result.callback_url:
        return
    with (
        job_context(result.job_id, None, "notify"),
        stage_span("callback", result.job_id, result.tenant, runtime.worker, headers),
    ):
        await _deliver(result, runtime)


async def _deliver(result: JobResult, runtime: StageRuntime) -> None:
    if result.batch is not None:
        # every end of a job reads the results topic, whoever announced it (a stage, the stalled-job
        # check, the API's cancel), so no batch misses an item; redelivered ones are folded once
        item = BatchItemEnded.of(result, result.batch)
        await runtime.bus.send(topics.BATCH_ITEMS, result.batch.id, item)
        return
    assert result.callback_url is not None
    delivery = await deliver(result.callback_url, result, result.tenant, runtime.settings)
    log.info(
        "callback %s after %d attempt(s)",
        "delivered" if delivery.delivered else "failed",
        delivery.attempts,
    )
    await runtime.bus.emit(
        CallbackOutcome(
            job_id=result.job_id,
            tenant=result.tenant,
            worker=runtime.worker,
            status=result.status,
            callback=delivery,
        )
    )
