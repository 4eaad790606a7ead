"""A render alone uses every core; renders that start while others run share them."""

from __future__ import annotations

from media.cores import CoreShare


def test_a_lone_render_gets_every_core_and_later_ones_share() -> None:
    share = CoreShare(cores=4)
    with share.claim() as first:
        assert first == 4
        with share.claim() as second:
            assert second == 2
            with share.claim() as third, share.claim() as fourth, share.claim() as fifth:
                assert (third, fourth, fifth) == (1, 1, 1)  # never fewer than one
        assert share.running == 1
    with share.claim() as again:
        assert again == 4, "the cores are back once the others ended"


def test_ffmpeg_threads_fixes_the_count() -> None:
    share = CoreShare(cores=8)
    with share.claim(fixed=3) as threads, share.claim(fixed=3) as other:
        assert (threads, other) == (3, 3)
    assert share.running == 0


def test_a_render_that_fails_gives_its_share_back() -> None:
    share = CoreShare(cores=2)
    try:
        with share.claim():
            raise RuntimeError("FFmpeg failed")
    except RuntimeError:
        pass
    assert share.running == 0
