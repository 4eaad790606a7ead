"""One builder per visual element type, in one table.

A builder draws an element's own pixels at the size asked, as a stream whose time is the
element's own, starting at `Build.skip` (0 unless the timeline is a window that began after the
element did), held for ever when the element is a still. Timing, fades, motion and placement are the same
for every type and live in media.layers; sound is media.audio's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from media.context import RenderContext
from media.graph import Stream
from media.placement import Frame
from media.timeline import Clip
from schemas.elements import (
    ColorElement,
    CompositionElement,
    ImageElement,
    ShapeElement,
    SubtitlesElement,
    TextElement,
    VideoElement,
    VisualElement,
)


@dataclass(frozen=True)
class Build:
    """What a builder is asked for: a clip's pixels at width x height, for `length` seconds."""

    clip: Clip
    frame: Frame  # what the element is laid out in
    width: int
    height: int
    alpha: bool  # the stream must carry transparency
    length: float  # seconds the layer lasts on its timeline

    @property
    def skip(self) -> float:
        """Seconds of the element's own time before its timeline starts: the stream begins there."""
        return self.clip.skip

    @property
    def whole(self) -> float:
        """The element's own length, the parts outside its timeline included."""
        return self.clip.skip + self.length + self.clip.tail


Builder = Callable[[RenderContext, Build], Stream]


def _table() -> dict[type[VisualElement], Builder]:
    from media.builders import color, composition, image, shape, subtitles, text, video

    return {
        VideoElement: video.build,
        ImageElement: image.build,
        TextElement: text.build,
        ColorElement: color.build,
        CompositionElement: composition.build,
        ShapeElement: shape.build,
        SubtitlesElement: subtitles.build,
    }


BUILDERS: dict[type[VisualElement], Builder] = {}


def builder_for(element: VisualElement) -> Builder:
    if not BUILDERS:
        BUILDERS.update(_table())
    return BUILDERS[type(element)]
