"""How many threads an FFmpeg render gets: the machine's cores divided among the renders running in
this process when it starts. A render alone (and `videogen render`) uses every core; renders that
start while others run share them. Sizing by the worst case (cores / MAX_CONCURRENT_JOBS) left half
of a 2-core machine idle whenever a worker rendered alone."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


class CoreShare:
    """The renders running in one process (they all run on its event loop, so no lock is needed)."""

    def __init__(self, cores: int | None = None) -> None:
        self.cores = cores or os.cpu_count() or 1
        self.running = 0

    @contextmanager
    def claim(self, fixed: int = 0) -> Iterator[int]:
        """Count a render while it runs; yields its threads (`fixed` when set, as FFMPEG_THREADS is)."""
        self.running += 1
        try:
            yield fixed if fixed > 0 else max(1, self.cores // self.running)
        finally:
            self.running -= 1


RENDERS = CoreShare()
