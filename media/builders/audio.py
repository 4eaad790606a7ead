"""`audio`: heard, never drawn (media.audio mixes its sound); its kind is all this module holds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from media.builders import Build, Builder
from media.builders.kinds import File, StreamCopy, own_source, played_length, probed_length
from media.estimate import UNKNOWN_MEDIA_SECONDS
from media.probe import MediaInfo
from media.text import Font
from schemas.elements import AudioElement, ElementBase


class AudioKind:
    model = AudioElement
    builder: Builder | None = None
    has_media = True
    unprobed_length: float | None = UNKNOWN_MEDIA_SECONDS
    stream_copy: StreamCopy | None = None

    def needs_alpha(self, job: Build) -> bool:
        return False  # never a layer

    def fonts(self, element: ElementBase, font_file: Path | None) -> list[Font]:
        return []

    def files(self, element: ElementBase) -> list[File]:
        return own_source(element, "audio")

    def media_length(self, element: ElementBase, info: MediaInfo | None) -> float | None:
        return probed_length(element, info, shows=False, name="audio")

    def open_length(
        self, element: ElementBase, media_length: float | None, nested: Callable[[], float | None]
    ) -> float | None:
        return played_length(element, media_length)


KIND = AudioKind()
