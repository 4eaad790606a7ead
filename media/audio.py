"""The audio half of the graph: every audible element placed in time, mixed, ducked, normalized."""

from __future__ import annotations

from dataclasses import dataclass

from media.graph import Filter, Stream, chain, f, join, split
from media.motion import Curve
from media.timeline import Clip
from schemas.elements import PlayableElement

SAMPLE_RATE = 48_000
# Music drops by ~15 dB while a voice-over speaks, and comes back within half a second.
DUCKING = {"threshold": 0.02, "ratio": 8, "attack": 20, "release": 400, "makeup": 1}
LOUDNORM = {"I": -16, "TP": -1.5, "LRA": 11}


@dataclass(frozen=True)
class AudioSource:
    """An audible clip (its start on the output's clock), its input stream, and its sound's envelope.

    `length` and the fades start from the element's own; a visual transition shortens the
    outgoing clip and crossfades the sound with it.
    """

    clip: Clip
    stream: Stream
    length: float
    fade_in: float
    fade_out: float

    @classmethod
    def of(cls, clip: Clip, stream: Stream) -> AudioSource:
        element = clip.element
        return cls(clip, stream, clip.played_length, element.fade_in, element.fade_out)

    @property
    def voiceover(self) -> bool:
        element = self.clip.element
        return isinstance(element, PlayableElement) and element.voiceover


def is_audible(clip: Clip) -> bool:
    element = clip.element
    if not isinstance(element, PlayableElement) or element.silent:
        return False
    return clip.info is not None and clip.info.has_audio


def _tempo(speed: float) -> list[Filter]:
    """atempo steps (each 0.5x to 2x) multiplying to `speed`: faster or slower, same pitch."""
    steps: list[Filter] = []
    while speed < 0.5 or speed > 2:
        step = 0.5 if speed < 0.5 else 2.0
        steps.append(f("atempo", step))
        speed /= step
    return [*steps, f("atempo", f"{speed:.6f}")] if abs(speed - 1) > 1e-9 or steps else steps


def audio_chain(source: AudioSource) -> Stream:
    """One clip's sound: resampled, sped, gained, faded and delayed to its start."""
    clip, element = source.clip, source.clip.element
    assert isinstance(element, PlayableElement)
    length, skip = source.length, clip.skip
    whole = skip + length + clip.tail  # fades are placed in the element's own time
    filters = [f("aformat", sample_fmts="fltp", sample_rates=SAMPLE_RATE, channel_layouts="stereo")]
    if clip.lead:  # read from the start of a video frame: the sound starts where the picture plays
        filters += [f("atrim", start=f"{clip.lead:.6f}"), f("asetpts", "PTS-STARTPTS")]
    if clip.loops_segment and clip.media_length is not None:
        filters.append(f("aloop", loop=-1, size=round(clip.media_length * clip.speed * SAMPLE_RATE)))
    filters += _tempo(clip.speed)
    if clip.loops_segment and clip.media_length is not None and skip:
        filters.append(f("atrim", start=f"{skip % clip.media_length:.6f}"))  # the loop's phase
    own_time = f"PTS-STARTPTS+round({skip:.6f}/TB)" if skip else "PTS-STARTPTS"
    filters += [f("atrim", duration=f"{length:.6f}"), f("asetpts", own_time)]
    if isinstance(element.volume, list):
        curve = Curve(tuple((k.time, k.value, k.easing) for k in element.volume))
        filters.append(f("volume", volume=curve.expr(), eval="frame"))
    elif element.volume != 1:
        filters.append(f("volume", f"{element.volume:g}"))
    if source.fade_in > 0:
        filters.append(f("afade", t="in", st=0, d=f"{min(source.fade_in, whole):.6f}"))
    if source.fade_out > 0:
        fade = min(source.fade_out, whole)
        filters.append(f("afade", t="out", st=f"{whole - fade:.6f}", d=f"{fade:.6f}"))
    if skip:
        filters.append(f("asetpts", "PTS-STARTPTS"))
    if clip.start > 0:
        filters.append(f("adelay", delays=round(clip.start * 1000), all=1))
    return chain(source.stream, filters)


def _mix(streams: list[Stream]) -> Stream:
    if len(streams) == 1:
        return streams[0]
    return join(streams, "amix", inputs=len(streams), duration="longest", normalize=0)


def audio_graph(sources: list[AudioSource], duration: float, *, loudnorm: bool) -> Stream | None:
    """The mixed sound, exactly `duration` long; None when nothing is audible."""
    if not sources:
        return None
    voice = [audio_chain(s) for s in sources if s.voiceover]
    rest = [audio_chain(s) for s in sources if not s.voiceover]
    if voice and rest:
        # The key padded to the end: sidechaincompress stops with its shorter input, and music
        # that outlasts the voice-over must go on.
        voice_mix, voice_key = split(
            chain(_mix(voice), [f("apad", whole_dur=f"{duration:.6f}")]), 2, audio=True
        )
        ducked = join([_mix(rest), voice_key], "sidechaincompress", **DUCKING)
        mixed = join([ducked, voice_mix], "amix", inputs=2, duration="longest", normalize=0)
    else:
        mixed = _mix(voice or rest)
    tail = [f("loudnorm", **LOUDNORM), f("aresample", SAMPLE_RATE)] if loudnorm else []
    tail += [f("apad", whole_dur=f"{duration:.6f}"), f("atrim", duration=f"{duration:.6f}")]
    return chain(mixed, tail)
