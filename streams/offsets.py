"""Faust commits an offset past a message still being handled in two cases, and a worker that
dies then loses that message for good (seen in the chaos bench: jobs that never ended):

- an agent with `concurrency` > 1 acks out of order; Faust's head-of-queue check compares the
  first acked offset with the committed one off by one (`> 1` where the committed offset is
  already the next to read), so with 3 in flight and 4 acked it commits 5;
- before a partition's first commit there is no committed offset and no check at all.

The replacement commits the consecutive acked offsets, but never beyond the lowest offset this
consumer delivered and has not had acked yet, nor past a gap after the committed offset.
"""

from __future__ import annotations

from typing import Any

from faust.transport.consumer import Consumer
from faust.types import TP
from faust.utils.functional import consecutive_numbers


def _new_offset(self: Any, tp: TP) -> int | None:
    acked: list[int] = self._acked[tp]
    if not acked:
        return None
    gaps = self._gap[tp]
    if gaps:  # offsets absent from the log (compaction) count as acked, as in Faust
        highest = max(acked)
        candidates = sorted(gaps.overlap(0, highest), key=lambda interval: interval.begin)
        if candidates:
            filled = [offset for entry in candidates for offset in range(entry.begin, entry.end)]
            acked.extend(filled)
            gaps.chop(0, max(filled[-1], highest + 1))
    acked.sort()
    committed = self._committed_offset[tp]
    if committed is not None and acked[0] > committed:
        return None  # the message at the committed offset is not acked yet
    batch = list(next(consecutive_numbers(acked)))
    pending = [m.offset for m in self._unacked_messages if m.tp == tp]
    if pending:
        batch = [offset for offset in batch if offset < min(pending)]
        if not batch:
            return None
    acked[: len(batch)] = []
    self._acked_index[tp].difference_update(batch)
    return int(batch[-1]) + 1


def commit_only_handled_offsets() -> None:
    Consumer._new_offset = _new_offset  # type: ignore[method-assign]
