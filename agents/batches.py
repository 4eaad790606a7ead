"""Batch wiring: `videogen.batches.items` folded into the `batches` table; one callback per batch."""

from __future__ import annotations

from typing import Any

from agents.stages.batches import handle_item
from agents.wiring import records, runtime
from schemas.batches import BatchState
from streams.app import app, batch_items_topic, batches


class TableBatchStates:
    """The `batches` Faust table (JSON values) read and written as `BatchState`."""

    def get(self, batch_id: str) -> BatchState | None:
        raw = batches.get(batch_id)
        return BatchState.model_validate(raw) if raw else None

    def put(self, state: BatchState) -> None:
        batches[state.batch_id] = state.model_dump(mode="json")


states = TableBatchStates()


@app.agent(batch_items_topic)
async def fold_batch_items(stream: Any) -> None:
    """One at a time per partition: a batch's items are folded in order, and its callback is sent
    before the next item is read (a slow receiver holds up only this partition's batches)."""
    async for record in records(stream):
        await handle_item(record, states, runtime)
