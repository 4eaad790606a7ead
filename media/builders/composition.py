"""`composition`: its own elements composed on a box-sized canvas, then moved as one layer."""

from __future__ import annotations

from collections.abc import Callable

from media import compose
from media.builders import Build
from media.builders.fitting import from_skip
from media.builders.kinds import Drawn
from media.context import RenderContext
from media.graph import Stream, chain
from media.looks import looks
from media.placement import Frame
from media.timeline import resolve_children
from schemas.elements import CompositionElement, ElementBase


def build(ctx: RenderContext, job: Build) -> Stream:
    element = job.clip.element
    assert isinstance(element, CompositionElement)
    timeline = resolve_children(ctx.spec, job.clip, ctx.infos)
    frame = Frame(job.width, job.height)
    stream = compose.compose(ctx, timeline, frame, background=element.background_color, transparent=True)
    return chain(looks(stream, element, job.alpha), from_skip(job))


class CompositionKind(Drawn):
    model = CompositionElement
    builder = staticmethod(build)

    def needs_alpha(self, job: Build) -> bool:
        element = job.clip.element
        assert isinstance(element, CompositionElement)
        return len(element.background_color or "") != 7  # none, or '#rrggbbaa'

    def open_length(
        self, element: ElementBase, media_length: float | None, nested: Callable[[], float | None]
    ) -> float | None:
        return nested()  # as long as its own elements last


KIND = CompositionKind()
