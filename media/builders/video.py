"""`video`: played at its speed and the output's rate, fitted, looped, moved by an effect."""

from __future__ import annotations

from media.builders import Build
from media.builders.effects import ken_burns
from media.builders.fitting import fitted, from_skip
from media.context import RenderContext
from media.graph import Filter, Stream, chain, f
from media.looks import looks
from media.timeline import Clip
from schemas.elements import VideoElement

MAX_LOOP_BYTES = 1 << 30


def build(ctx: RenderContext, job: Build) -> Stream:
    clip, element = job.clip, job.clip.element
    assert isinstance(element, VideoElement)
    filters: list[Filter] = []
    if element.speed != 1 or clip.lead:
        lead = f"-round({clip.lead:.6f}/TB)" if clip.lead else ""
        filters.append(f("setpts", f"(PTS{lead})/{element.speed:g}"))
    filters += [f("fps", f"{ctx.fps:g}"), *fitted(job, element.fit_mode)]
    stream = looks(chain(ctx.media(clip)["v:0"], filters), element, job.alpha)
    timing = _segment_loop(ctx, clip, job) if clip.loops_segment else []
    timing += [*from_skip(job), *ken_burns(element.effect, element.effect_scale, job, ctx.fps)]
    return chain(stream, timing)


def _segment_loop(ctx: RenderContext, clip: Clip, job: Build) -> list[Filter]:
    """Repeats a trimmed segment by holding its (box-sized) frames in memory."""
    assert clip.media_length is not None
    frames = max(1, round(clip.media_length * ctx.fps))
    held = frames * job.width * job.height * (2.5 if job.alpha else 1.5)
    if held > MAX_LOOP_BYTES:
        raise ctx.invalid(
            clip,
            f"looping a {clip.media_length:.1f} s trimmed segment at {job.width}x{job.height} needs too much "
            "memory; loop a shorter segment or the whole file",
        )
    repeat = [f("loop", loop=-1, size=frames, start=0), f("setpts", f"N/({ctx.fps:g}*TB)")]
    if job.skip:  # a window began mid-loop: the phase already played is dropped
        phase = job.skip % clip.media_length
        repeat += [f("trim", start=f"{phase:.6f}"), f("setpts", "PTS-STARTPTS")]
    return repeat
