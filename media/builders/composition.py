"""`composition`: its own elements composed on a box-sized canvas, then moved as one layer."""

from __future__ import annotations

from media import compose
from media.builders import Build
from media.builders.fitting import from_skip
from media.context import RenderContext
from media.graph import Stream, chain
from media.looks import looks
from media.placement import Frame
from media.timeline import resolve_children
from schemas.elements import CompositionElement


def build(ctx: RenderContext, job: Build) -> Stream:
    element = job.clip.element
    assert isinstance(element, CompositionElement)
    timeline = resolve_children(ctx.spec, job.clip, ctx.infos)
    frame = Frame(job.width, job.height)
    stream = compose.compose(ctx, timeline, frame, background=element.background_color, transparent=True)
    return chain(looks(stream, element, job.alpha), from_skip(job))
