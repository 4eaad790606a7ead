"""How many threads an FFmpeg render gets. A render that runs alone uses every core; while a worker
is under load (its renders overlapped within the last BUSY_WINDOW_SECONDS), each gets its share,
cores / MAX_CONCURRENT_JOBS, as before.

Sizing every render for the worst case left half of a 2-core machine idle whenever a worker (or
`videogen render`) rendered alone: 1.17-1.20x the time of a hand-written command using both cores.
Sizing every render by what runs when it starts oversubscribes under load (the first render of a
burst keeps every core while the next starts beside it) and cost 7-10% of throughput in
`bench/load.py`; the window keeps a loaded worker at one share per render.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

BUSY_WINDOW_SECONDS = 10.0


class CoreShare:
    """The renders running in one process (all on its event loop, so no lock is needed)."""

    def __init__(self, cores: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.cores = cores or os.cpu_count() or 1
        self.running = 0
        self._clock = clock
        self._busy_until = float("-inf")

    def _overlap(self) -> None:
        if self.running > 1:
            self._busy_until = self._clock() + BUSY_WINDOW_SECONDS

    @contextmanager
    def claim(self, peers: int = 1, fixed: int = 0) -> Iterator[int]:
        """Count a render while it runs and yield its threads: `fixed` when set (FFMPEG_THREADS);
        every core when it runs alone on a quiet worker; else cores / max(renders running, `peers`),
        `peers` being how many renders the worker runs at once."""
        self.running += 1
        self._overlap()
        busy = self._clock() < self._busy_until
        share = max(self.running, peers) if busy else self.running
        try:
            yield fixed if fixed > 0 else max(1, self.cores // share)
        finally:
            self._overlap()  # a render ending beside another: the worker was still loaded
            self.running -= 1


RENDERS = CoreShare()
