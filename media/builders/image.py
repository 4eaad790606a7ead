"""`image`: decoded and fitted once, held, then moved inside its box by an effect; an animated
image plays like a video."""

from __future__ import annotations

from media.builders import Build
from media.builders.effects import ken_burns
from media.builders.fitting import fitted, from_skip
from media.context import RenderContext
from media.graph import Stream, chain, f
from schemas.elements import ImageElement


def build(ctx: RenderContext, job: Build) -> Stream:
    element = job.clip.element
    assert isinstance(element, ImageElement)
    if job.clip.info is not None and job.clip.info.kind != "image":  # animated: it plays
        filters = [f("fps", f"{ctx.fps:g}"), *fitted(job, element.fit_mode), *from_skip(job)]
    else:
        filters = [f("trim", end_frame=1), *fitted(job, element.fit_mode), *ctx.hold(job.skip)]
    filters += ken_burns(element.effect, element.effect_scale, job, ctx.fps)
    return chain(ctx.media(job.clip)["v:0"], filters)
