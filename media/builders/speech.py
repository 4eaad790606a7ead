"""`speech`: heard as an audio element whose source is its synthesized voice, and the captions
that transcribe it: a spec with voices is lowered, once its files are made (media.voicing), into
one the renderer already draws and mixes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from media.builders.kinds import Drawn
from schemas.elements import SpeechElement, SubtitlesElement
from schemas.errors import ErrorCode, JobError
from schemas.spec import VideoSpec
from schemas.subtitles import Cue

if TYPE_CHECKING:
    from media.builders import Build, Builder

SPEECH_SCHEME = "speech:"  # the source URL of a speech element's voice: speech:<cache key>
TRANSCRIPT_SCHEME = "transcript:"  # a transcribing subtitles element's cues file

AUDIO_FIELDS = ("id", "track", "time", "duration", "fade_in", "fade_out", "volume", "muted", "voiceover")


def voiced_elements(spec: VideoSpec) -> bool:
    return any(
        isinstance(p.element, SpeechElement)
        or (isinstance(p.element, SubtitlesElement) and p.element.transcribe is not None)
        for p in spec.placed
    )


def read_cues(path: Path) -> list[Cue]:
    """The cues media.voicing wrote for a transcribing subtitles element."""
    return [Cue.model_validate(item) for item in json.loads(path.read_text(encoding="utf-8"))]


def lower_voices(spec: VideoSpec, sources: Mapping[int, Path]) -> VideoSpec:
    """The spec with each speech element an audio element reading its voice, and each transcribing
    subtitles element holding its transcript's cues. Unchanged without either."""
    if not voiced_elements(spec):
        return spec
    body = spec.model_dump(mode="json", exclude_unset=True)
    for placed in spec.placed:
        element = placed.element
        if isinstance(element, SpeechElement):
            made = element.model_dump(mode="json", include=set(AUDIO_FIELDS), exclude_unset=True)
            if element.duration == "media":
                made.pop("duration")  # an audio element without a duration lasts as long as its media
            _set(
                body,
                spec,
                placed.index,
                {**made, "type": "audio", "source": f"{SPEECH_SCHEME}{placed.index}"},
            )
        elif isinstance(element, SubtitlesElement) and element.transcribe is not None:
            cues = [c.model_dump(mode="json") for c in read_cues(_made(sources, placed.index, placed.label))]
            update = element.model_dump(mode="json", exclude_unset=True, exclude={"transcribe", "language"})
            if not cues:  # nothing was said: no word to highlight
                update.pop("highlight_color", None)
            _set(body, spec, placed.index, {**update, "cues": cues})
    try:
        return VideoSpec.model_validate(body)
    except ValueError as exc:
        raise JobError(ErrorCode.INVALID_INPUT, f"the transcribed captions do not fit: {exc}") from exc


def _made(sources: Mapping[int, Path], index: int, label: str) -> Path:
    path = sources.get(index)
    if path is None:
        raise JobError(
            ErrorCode.INVALID_INPUT, f"element {label}: its transcript was not made before the render"
        )
    return path


def _set(body: dict[str, Any], spec: VideoSpec, index: int, element: dict[str, Any]) -> None:
    """Replace the element at flat index `index` in the dumped spec."""
    path: list[int] = []
    at: int | None = index
    while at is not None:
        placed = spec.placed[at]
        siblings = spec.children(placed.parent)
        path.insert(0, next(n for n, p in enumerate(siblings) if p.index == at))
        at = placed.parent
    holder = body
    for position in path[:-1]:
        holder = holder["elements"][position]
    holder["elements"][path[-1]] = element


class SpeechKind(Drawn):
    """Heard, never drawn, and lowered to an audio element before the renderer sees it: like the
    drawn types it has no file to fetch (media.voicing makes its voice) and no media to probe."""

    model = SpeechElement
    builder: Builder | None = None

    def needs_alpha(self, job: Build) -> bool:
        return False


KIND = SpeechKind()
