"""`image`: decoded and fitted once, held, then moved inside its box by an effect; an animated
image plays like a video."""

from __future__ import annotations

from media.builders import Build
from media.builders.effects import ken_burns
from media.builders.fitting import fitted, from_skip, held
from media.context import RenderContext
from media.graph import Stream, chain, f
from media.looks import looks
from schemas.elements import ImageElement


def build(ctx: RenderContext, job: Build) -> Stream:
    element = job.clip.element
    assert isinstance(element, ImageElement)
    picture = ctx.media(job.clip)["v:0"]
    if job.clip.info is not None and job.clip.info.kind != "image":  # animated: it plays
        moving = looks(
            chain(picture, [f("fps", f"{ctx.fps:g}"), *fitted(job, element.fit_mode)]), element, job.alpha
        )
        stream = chain(moving, from_skip(job))
    else:
        stream = held(ctx, job, chain(picture, [f("trim", end_frame=1), *fitted(job, element.fit_mode)]))
    return chain(stream, ken_burns(element.effect, element.effect_scale, job, ctx.fps))
