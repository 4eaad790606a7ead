"""`color`: a solid or gradient fill, drawn once and held."""

from __future__ import annotations

from media.builders import Build, shape
from media.builders.fitting import held
from media.builders.kinds import Drawn
from media.context import RenderContext
from media.graph import Stream, chain, f, source
from media.text import ffmpeg_color
from schemas.elements import ColorElement
from schemas.shapes import fill_translucent


def build(ctx: RenderContext, job: Build) -> Stream:
    element = job.clip.element
    assert isinstance(element, ColorElement)
    pixels = "yuva420p" if job.alpha else "yuv420p"
    if element.fill_gradient is not None:
        filled = shape.fill(ctx, job.width, job.height, None, element.fill_gradient)
        return held(ctx, job, chain(filled, [f("format", pixels)]))
    assert element.color is not None  # the schema asks for color or fill_gradient
    fill = source(
        "color", c=ffmpeg_color(element.color), s=f"{job.width}x{job.height}", r=f"{ctx.fps:g}", d=1
    )
    return held(ctx, job, chain(fill, [f("trim", end_frame=1), f("format", pixels)]))


class ColorKind(Drawn):
    model = ColorElement
    builder = staticmethod(build)

    def needs_alpha(self, job: Build) -> bool:
        element = job.clip.element
        assert isinstance(element, ColorElement)
        return fill_translucent(element.color, element.fill_gradient)


KIND = ColorKind()
