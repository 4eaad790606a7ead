"""`image`: decoded and fitted once, held, then moved inside its box by an effect; an animated
image plays like a video."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from media.builders import Build
from media.builders.effects import ken_burns
from media.builders.fitting import fitted, from_skip, held, pads
from media.builders.kinds import File, StreamCopy, own_source, probed_length
from media.context import RenderContext
from media.graph import Stream, chain, f
from media.looks import looks
from media.probe import MediaInfo
from media.text import Font
from schemas.elements import ElementBase, ImageElement


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


class ImageKind:
    model = ImageElement
    builder = staticmethod(build)
    has_media = True
    unprobed_length: float | None = None
    stream_copy: StreamCopy | None = None

    def needs_alpha(self, job: Build) -> bool:
        element = job.clip.element
        assert isinstance(element, ImageElement)
        return pads(job, element.fit_mode) or element.chroma_key is not None

    def fonts(self, element: ElementBase, font_file: Path | None) -> list[Font]:
        return []

    def files(self, element: ElementBase) -> list[File]:
        return own_source(element, "image")

    def media_length(self, element: ElementBase, info: MediaInfo | None) -> float | None:
        return probed_length(element, info, shows=True, name="image")

    def open_length(
        self, element: ElementBase, media_length: float | None, nested: Callable[[], float | None]
    ) -> float | None:
        return media_length  # an animated image plays once; a still lasts until its timeline ends


KIND = ImageKind()
