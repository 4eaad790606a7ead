"""A render alone uses every core; a loaded worker's renders each get their share."""

from __future__ import annotations

import pytest

from media.cores import BUSY_WINDOW_SECONDS, CoreShare


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_lone_render_on_a_quiet_worker_gets_every_core() -> None:
    share = CoreShare(cores=4, clock=Clock())
    with share.claim(peers=2) as threads:
        assert threads == 4
    with share.claim(peers=2) as again:
        assert again == 4, "one at a time is never load"


def test_renders_that_overlap_share_and_the_next_ones_too_while_loaded() -> None:
    clock = Clock()
    share = CoreShare(cores=4, clock=clock)
    with share.claim(peers=2) as first:
        assert first == 4, "it started alone"
        with share.claim(peers=2) as second:
            assert second == 2
            with share.claim(peers=2) as third:
                assert third == 1, "cores / renders running, never fewer than one"
    clock.now += BUSY_WINDOW_SECONDS - 1
    with share.claim(peers=2) as next_in_queue:
        assert next_in_queue == 2, "a loaded worker keeps one share per render"
    clock.now += BUSY_WINDOW_SECONDS + 1
    with share.claim(peers=2) as after_quiet:
        assert after_quiet == 4, "quiet again: every core"
    assert share.running == 0


def test_ffmpeg_threads_fixes_the_count() -> None:
    share = CoreShare(cores=8, clock=Clock())
    with share.claim(peers=2, fixed=3) as threads, share.claim(peers=2, fixed=3) as other:
        assert (threads, other) == (3, 3)


def test_a_render_that_fails_gives_its_share_back() -> None:
    share = CoreShare(cores=2, clock=Clock())
    with pytest.raises(RuntimeError), share.claim():
        raise RuntimeError("FFmpeg failed")
    assert share.running == 0
