"""Processing-time estimate that decides between the quick (200) and async (202) answers.

Baseline formula, before any history exists:

    seconds = 3 + 0.5 · sources + duration · (pixels / 1280·720) · 0.6 · format_factor

where `duration` is the output length as far as the spec tells it without probing (media of
unknown length counts as 10 s, speech 14 characters a second) and format_factor is 1 for H.264
outputs, 2.5 for VP9, 1.5 for GIF and 0 for stills. An audio-only output has no pixels: its
render counts `duration · 0.05` (mixing and encoding sound runs at tens of times real time).
Speech adds the time to time its words, and a transcript the time to listen (`_listening`).
It errs long: a job wrongly sent async costs a poll, a job wrongly held costs a client a timeout.
"""

from __future__ import annotations

from media.builders.kinds import kind_named
from schemas.elements import PlayableElement, SpeechElement, SubtitlesElement, source_of
from schemas.spec import VideoSpec

UNKNOWN_MEDIA_SECONDS = 10.0
FORMAT_FACTOR = {"mp4": 1.0, "mov": 1.0, "webm": 2.5, "gif": 1.5, "jpg": 0.0, "png": 0.0}
AUDIO_FACTOR = 0.05
SPOKEN_CHARS_PER_SECOND = 14.0  # natural narration, the offline voice included
LISTENING_FACTOR = 0.3


def planned_duration(spec: VideoSpec) -> float:
    """Output length as far as the spec alone tells it."""
    if spec.duration is not None:
        return spec.duration
    end = 0.0
    for element in spec.elements:
        if isinstance(element.duration, float):
            length = element.duration
        elif isinstance(element, PlayableElement) and element.trim_end is not None:
            length = element.trim_end - (element.trim_start or 0.0)
        elif isinstance(element, SpeechElement):
            length = len(element.text) / (SPOKEN_CHARS_PER_SECOND * element.speed)
        elif (unknown := kind_named(element.type).unprobed_length) is not None:
            length = unknown
        else:
            continue
        end = max(end, element.time + length)
    return end or UNKNOWN_MEDIA_SECONDS


def estimate_seconds(spec: VideoSpec) -> float:
    sources = sum(1 for p in spec.placed if source_of(p.element))
    if spec.audio_only:
        render = planned_duration(spec) * AUDIO_FACTOR
    else:
        pixels = spec.out_width * spec.out_height / (1280 * 720)
        render = planned_duration(spec) * pixels * 0.6 * FORMAT_FACTOR[spec.output_format]
    return round(3.0 + 0.5 * sources + render + _listening(spec), 2)


def _listening(spec: VideoSpec) -> float:
    """Speech is timed and media transcribed by a recognizer at about a third of real time (the
    bucket cache makes a repeat free, which the estimate does not know)."""
    seconds = 0.0
    for placed in spec.placed:
        element = placed.element
        if isinstance(element, SpeechElement):
            seconds += len(element.text) / (SPOKEN_CHARS_PER_SECOND * element.speed)
        elif isinstance(element, SubtitlesElement) and element.transcribe is not None:
            seconds += UNKNOWN_MEDIA_SECONDS
    return seconds * LISTENING_FACTOR
