"""What the engine asks of each element type, answered by one object per type (its `Kind`).

A kind lives at the end of its type's builder module (`audio`, drawn by no builder, has a module
of its own) and `KINDS` maps each element model to it, so the engine's modules ask `kind_of`
instead of keeping lists of types: a new type touches its model, its builder module and its tests.

A kind answers: how it is drawn (`builder`) and whether its own pixels are see-through
(`needs_alpha`), the fonts it draws with (`fonts`), the files it needs fetched and how each is
screened (`files`), whether the renderer probes and opens a media file for it (`has_media`), how
long it lasts by itself (`media_length`, `open_length`, and before any probe `unprobed_length`),
and which of its model's fields a stream copy honours (`stream_copy`). Which fields can reach a
pixel at all is `picture_neutral`'s answer (the chunk cache keys a chunk by the others).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from schemas.elements import ELEMENT_MODELS, AudibleElement, ElementBase, PlayableElement, SourcedElement

if TYPE_CHECKING:
    from media.builders import Build, Builder
    from media.probe import MediaInfo
    from media.text import Font
    from media.timeline import Clip

URL_LIKE = re.compile(r"^([a-z][a-z0-9+.\-]*:/|data:)", re.IGNORECASE)  # not fontconfig "Name:style=Bold"


class File(NamedTuple):
    """A file an element needs fetched, and what it is screened as (media.screening: "video",
    "image", "audio", "font" or "subtitles"). A font is kept in the job's sources at
    media.fonts.font_key(index), beside the element's own source at its index."""

    url: str
    screen: str
    font: bool = False


class Unusable(Exception):
    """The element's media cannot serve it; the timeline names the element in the job's error."""


@dataclass(frozen=True)
class Neutral:
    """A field whose value cannot make the output differ from a remux of the source."""

    why: str


@dataclass(frozen=True)
class Handled:
    """A field a remux honours only for some values: `allows(value, clip)` says whether this one
    still lets the output be the source remuxed."""

    name: str  # what the check asks, for tests and readers
    allows: Callable[[Any, Clip], bool]


def unset() -> Handled:
    return Handled("is None", lambda value, _clip: value is None)


def empty() -> Handled:
    return Handled("is empty", lambda value, _clip: not value)


def equal(plain: object) -> Handled:
    return Handled(f"== {plain!r}", lambda value, _clip: value == plain)


@dataclass(frozen=True)
class StreamCopy:
    """How a kind's element can be stream copied (a remux, media.output): every field of its model
    is declared `Neutral` or `Handled` here, so a field added to the model, or to a base of it, fails
    tests/unit/test_element_kinds.py until it is, and is never dropped by a remux unnoticed."""

    fields: Mapping[str, Neutral | Handled]
    keeps_sound: Callable[[ElementBase], bool]  # the remux maps the source's audio stream

    def allows(self, clip: Clip) -> bool:
        """Whether every handled field of the clip's element lets it be remuxed."""
        element = clip.element
        return all(
            stance.allows(getattr(element, name), clip)
            for name, stance in self.fields.items()
            if isinstance(stance, Handled)
        )

    def undeclared(self, model: type[ElementBase]) -> list[str]:
        """Fields of `model` that are neither neutral nor handled."""
        return [name for name in model.model_fields if name not in self.fields]


class Kind(Protocol):
    """The questions the engine asks of an element type."""

    @property
    def model(self) -> type[ElementBase]: ...

    @property
    def builder(self) -> Builder | None:
        """What draws the element's pixels (media.builders); None for a type that is only heard."""

    @property
    def stream_copy(self) -> StreamCopy | None:
        """How the element can be remuxed as the whole output; None: it is always rendered."""

    @property
    def has_media(self) -> bool:
        """Whether the renderer probes a media file for the element and opens it as an input."""

    @property
    def unprobed_length(self) -> float | None:
        """Seconds an element with no duration and no trim_end counts for before its source is
        probed (media.estimate, media.workload); None: until the output ends."""

    def needs_alpha(self, job: Build) -> bool:
        """Whether the element's own pixels leave some of its box see-through (media.layers adds
        what every layer shares: opacity, fades, rotation, resizing, wipes, a source with alpha)."""

    def fonts(self, element: ElementBase, font_file: Path | None) -> list[Font]:
        """The fonts it draws with (media.render writes a fontconfig setup for named families)."""

    def files(self, element: ElementBase) -> list[File]:
        """The files to fetch and screen before rendering (media.fetch, media.screening)."""

    def media_length(self, element: ElementBase, info: MediaInfo | None) -> float | None:
        """Timeline seconds of its media after trimming and speed, from the probe `info`; None for
        stills and elements without media. Raises Unusable when the media cannot serve it."""

    def open_length(
        self, element: ElementBase, media_length: float | None, nested: Callable[[], float | None]
    ) -> float | None:
        """How long it lasts when its duration is omitted (None: until its timeline ends), given
        its `media_length` and `nested`, the length its nested elements set (compositions)."""


# Fields that only change how an element sounds: a chunk of picture is the same whatever they are.
SOUND_FIELDS = frozenset({"volume", "muted", "voiceover"})


def picture_neutral(model: type[ElementBase]) -> frozenset[str]:
    """Fields of `model` that cannot change a pixel (media.chunkkey keys a chunk of picture without
    them): its name, `id`, and an audible element's sound. A kind without a builder is only heard:
    none of its fields reach a pixel, and a picture's key leaves the whole element out."""
    return frozenset({"id"}) | (SOUND_FIELDS if issubclass(model, AudibleElement) else frozenset())


def kind_of(element: ElementBase) -> Kind:
    return kinds()[type(element)]


def kind_named(element_type: str) -> Kind:
    """The kind of a type name (a spec's `type`), for readers of elements by their generic fields."""
    return kinds()[ELEMENT_MODELS[element_type]]


KINDS: dict[type[ElementBase], Kind] = {}


def kinds() -> dict[type[ElementBase], Kind]:
    """Every element model's kind, collected on first use (the builder modules import the engine,
    which asks its kinds)."""
    if not KINDS:
        from media.builders import audio, color, composition, image, shape, speech, subtitles, text, video

        found: list[Kind] = [
            video.KIND,
            image.KIND,
            text.KIND,
            audio.KIND,
            color.KIND,
            composition.KIND,
            shape.KIND,
            subtitles.KIND,
            speech.KIND,
        ]
        KINDS.update((kind.model, kind) for kind in found)
    return KINDS


# Shared answers of the kinds with a source file.


def own_source(element: ElementBase, screen: str) -> list[File]:
    """The element's `source`, screened as `screen`."""
    assert isinstance(element, SourcedElement)
    return [File(element.source.strip(), screen)] if element.source else []


def probed_length(element: ElementBase, info: MediaInfo | None, *, shows: bool, name: str) -> float | None:
    """Seconds of a source's media on the timeline: None for a still image, the whole of an
    animated image, a playable source trimmed and divided by its speed. `shows`: the element shows
    its source's picture (else it plays its sound); `name` is its type, for errors."""
    if info is None:
        raise Unusable("its source was not provided to the renderer")
    if shows and not info.has_video:
        raise Unusable(f"a {name} element needs a picture, but the source is audio only")
    if not shows and not info.has_audio:
        raise Unusable(f"an {name} element needs sound, but the source has no audio stream")
    if info.kind == "image":
        return None
    if info.duration is None:
        raise Unusable("the media's duration cannot be determined")
    if not isinstance(element, PlayableElement):
        return info.duration  # an animated image plays once, whole
    start = element.trim_start or 0.0
    stop = min(element.trim_end, info.duration) if element.trim_end is not None else info.duration
    if stop - start <= 0:
        raise Unusable(f"trim_start {start:g} s is past the end of the media ({info.duration:.2f} s)")
    return (stop - start) / element.speed


def played_length(element: ElementBase, media_length: float | None) -> float | None:
    """A playable source with no duration lasts as long as its media, unless it loops or freezes."""
    assert isinstance(element, PlayableElement)
    return media_length if element.duration_mode == "auto" else None


class Drawn:
    """The answers shared by the types drawn from their fields alone (no media of their own):
    nothing probed, no length but the one given, always rendered. Each sets `model`, `builder` and
    `needs_alpha`, and says what it draws with (`fonts`) and reads (`files`) when it does."""

    has_media = False
    unprobed_length: float | None = None
    stream_copy: StreamCopy | None = None

    def fonts(self, element: ElementBase, font_file: Path | None) -> list[Font]:
        return []

    def files(self, element: ElementBase) -> list[File]:
        return []

    def media_length(self, element: ElementBase, info: MediaInfo | None) -> float | None:
        return None

    def open_length(
        self, element: ElementBase, media_length: float | None, nested: Callable[[], float | None]
    ) -> float | None:
        return None
