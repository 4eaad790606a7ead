"""Batches: fold each ended job of a batch into the batch's state and, once all of them have
ended, deliver the batch's one callback. Free of Faust: `agents/batches.py` wires it to
`videogen.batches.items` and the `batches` table; the unit tests give it a dict.

Sent once: items arrive at least once (a crash or a rebalance redelivers them), and each index is
folded once, so a repeat changes nothing. The callback's outcome is written to the table before the
item's offset is committed (Faust flushes table writes first), and a batch with an outcome never
sends again. One repeat remains possible: a worker that dies after the receiver answered but before
that write reached the changelog (about a second); receivers dedupe on `batch_id`.
"""

from __future__ import annotations

import logging
from typing import Protocol

from pydantic import ValidationError

from agents.callbacks import deliver
from agents.stages.loop import Record
from agents.stages.runtime import StageRuntime
from schemas.batches import BatchItemEnded, BatchState, callback_body, fold_item
from schemas.events import CallbackDelivery, CallbackOutcome
from streams.codec import decode

log = logging.getLogger(__name__)


class BatchStates(Protocol):
    """The folded batches by batch id (the Faust table in a worker; a dict in tests)."""

    def get(self, batch_id: str) -> BatchState | None: ...

    def put(self, state: BatchState) -> None: ...


async def handle_item(record: Record, batches: BatchStates, runtime: StageRuntime) -> None:
    try:
        item = decode(BatchItemEnded, record.value or b"")
    except (ValueError, ValidationError) as exc:
        await runtime.bus.dead_letter(
            record.topic, record.partition, record.offset, record.key, record.value,
            f"undecodable: {exc}", None,
        )  # fmt: skip
        return
    ref = item.batch
    state = batches.get(ref.id)
    if state is not None and state.callback is not None:
        log.info("batch %s already answered; item %d ignored", ref.id, ref.index)
        return
    folded = fold_item(state, item)
    if folded is not state:
        batches.put(folded)
    if folded.complete:  # also when a repeat finds it complete but unanswered (a crash in between)
        await answer(folded, batches, runtime)


async def answer(state: BatchState, batches: BatchStates, runtime: StageRuntime) -> None:
    """Deliver the batch's callback, record the outcome on the batch (so it is never sent again)
    and on each of its jobs (GET shows it, as for a job's own callback)."""
    if state.callback_url is None:
        delivery = CallbackDelivery(delivered=False, attempts=0, error="the batch has no callback_url")
    else:
        delivery = await deliver(state.callback_url, callback_body(state), state.tenant, runtime.settings)
    batches.put(state.model_copy(update={"callback": delivery}))
    log.info(
        "batch %s (%s): callback %s after %d attempt(s)",
        state.batch_id,
        state.processing_id,
        "delivered" if delivery.delivered else "failed",
        delivery.attempts,
    )
    for item in state.items.values():
        if item.job_id is not None:
            await runtime.bus.emit(
                CallbackOutcome(
                    job_id=item.job_id,
                    tenant=item.tenant,
                    worker=runtime.worker,
                    status=item.status,
                    callback=delivery,
                )
            )
