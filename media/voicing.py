"""Speech spoken and speech transcribed before a render, as files beside the job's sources.

Runs in the fetch stage (media.builders.speech.voiced_elements says whether a spec needs it).
A `speech` element becomes a WAV of its voice; a subtitles element that transcribes another element
becomes a JSON file of cues timed on its own clock (media.builders.speech reads both back). The
engines (media.voices) cache by content in the bucket, so a template rendered again neither speaks
nor listens twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media.builders.speech import SPEECH_SCHEME, TRANSCRIPT_SCHEME
from media.captions import TimedWord, cues_from_words
from media.timeline import invalid
from media.voices import SpeechRequest, Word, speak, transcribe
from schemas.elements import PlayableElement, SpeechElement, SubtitlesElement
from schemas.settings import Settings
from schemas.spec import VideoSpec
from schemas.subtitles import MAX_CUES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VoicedFile:
    """A file made for an element: its URL names what made it (`speech:<key>`)."""

    url: str
    path: Path


def prepare_voices(
    spec: VideoSpec, fetched: Mapping[int, Path], dest_dir: Path, settings: Settings, s3: Any
) -> dict[int, VoicedFile]:
    """Speak every speech element and transcribe what every `transcribe` names (blocking)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    made: dict[int, VoicedFile] = {}
    spoken: dict[int, tuple[Word, ...]] = {}
    for placed in spec.placed:
        element = placed.element
        if isinstance(element, SpeechElement):
            request = SpeechRequest(element.text, element.voice, element.language, element.speed)
            result = speak(request, dest_dir, settings, s3)
            log.info("speech of %s: %.1f s (cached: %s)", placed.label, result.duration, result.cached)
            made[placed.index] = VoicedFile(f"{SPEECH_SCHEME}{result.cache_key}", result.path)
            spoken[placed.index] = result.words
    for placed in spec.placed:
        element = placed.element
        if not isinstance(element, SubtitlesElement) or element.transcribe is None:
            continue
        target = next(
            p for p in spec.children(placed.parent) if p.element.id == element.transcribe
        )  # the schema checked it is there
        if target.index in spoken:
            words, key = _on_clock(spoken[target.index], target.element, element), "speech"
        else:
            audio = fetched.get(target.index)
            if audio is None:
                raise invalid(spec, placed.index, "the element it transcribes has no fetched source")
            language = element.language or getattr(target.element, "language", None)
            transcript = transcribe(audio, language, settings, s3)
            log.info("transcript of %s: %d words (cached: %s)", target.label, len(transcript.words),
                     transcript.cached)  # fmt: skip
            words, key = _on_clock(transcript.words, target.element, element), transcript.cache_key
        cues = cues_from_words(words, element.words_per_cue, element.chars_per_cue)
        if len(cues) > MAX_CUES:
            raise invalid(
                spec,
                placed.index,
                f"the transcript makes {len(cues)} cues, more than the {MAX_CUES} a subtitles element "
                "holds: caption shorter parts with several subtitles elements",
            )
        path = dest_dir / f"transcript-{placed.index}.json"
        path.write_text(json.dumps([c.model_dump(mode="json") for c in cues]), encoding="utf-8")
        made[placed.index] = VoicedFile(f"{TRANSCRIPT_SCHEME}{key}", path)
    return made


def _on_clock(words: tuple[Word, ...], target: Any, subtitles: SubtitlesElement) -> list[TimedWord]:
    """Words of the target's audio on the subtitles element's own clock: where the target plays
    them (its start, trim and speed), the parts it does not play dropped."""
    trim_start, speed, trim_end = 0.0, 1.0, None
    if isinstance(target, PlayableElement):
        trim_start, speed, trim_end = target.trim_start or 0.0, target.speed, target.trim_end
    length = target.duration if isinstance(target.duration, float) else None
    out = []
    for word in words:
        if word.start < trim_start or (trim_end is not None and word.end > trim_end):
            continue
        start = (word.start - trim_start) / speed
        end = (word.end - trim_start) / speed
        if length is not None and start >= length:
            continue
        offset = target.time - subtitles.time
        if start + offset < 0:
            continue
        out.append(TimedWord(word.text, start + offset, end + offset))
    return out
