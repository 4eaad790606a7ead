"""One builder per visual element type, named by its kind (media.builders.kinds).

A builder draws an element's own pixels at the size asked, as a stream whose time is the
element's own, starting at `Build.skip` (0 unless the timeline is a window that began after the
element did), held for ever when the element is a still. Timing, fades, motion and placement are the same
for every type and live in media.layers; sound is media.audio's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from media.builders.kinds import kind_of

if TYPE_CHECKING:  # the engine's modules ask the kinds (media.builders.kinds) this package holds
    from media.context import RenderContext
    from media.graph import Stream
    from media.placement import Frame
    from media.timeline import Clip
    from schemas.elements import VisualElement


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


Builder = Callable[["RenderContext", Build], "Stream"]


def builder_for(element: VisualElement) -> Builder:
    builder = kind_of(element).builder
    assert builder is not None, f"{type(element).__name__} is never drawn"
    return builder
