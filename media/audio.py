"""The audio half of the graph: every audible element placed in time, mixed, ducked, normalized."""

from __future__ import annotations

from dataclasses import dataclass

from media.timeline import Clip

SAMPLE_RATE = 48_000
# Music drops by ~15 dB while a voice-over speaks, and comes back within half a second.
DUCKING = "sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400:makeup=1"
LOUDNORM = f"loudnorm=I=-16:TP=-1.5:LRA=11,aresample={SAMPLE_RATE}"


@dataclass(frozen=True)
class AudioSource:
    """An audible clip, the FFmpeg input label of its audio stream, and its sound's envelope.

    `length` and the fades start from the element's own; a visual transition shortens the
    outgoing clip and crossfades the sound with it.
    """

    clip: Clip
    input_label: str
    length: float
    fade_in: float
    fade_out: float

    @classmethod
    def of(cls, clip: Clip, input_label: str) -> AudioSource:
        element = clip.element
        return cls(clip, input_label, clip.played_length, element.fade_in, element.fade_out)


def is_audible(clip: Clip) -> bool:
    element = clip.element
    if element.type not in ("video", "audio") or element.muted or element.volume == 0:
        return False
    return clip.info is not None and clip.info.has_audio


def audio_chain(source: AudioSource, out_label: str) -> str:
    """One clip's sound: resampled, gained, faded and delayed to its start."""
    clip, element = source.clip, source.clip.element
    length = source.length
    filters = [f"aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo"]
    if clip.loops_segment and clip.media_length is not None:
        filters.append(f"aloop=loop=-1:size={round(clip.media_length * SAMPLE_RATE)}")
    filters += [
        f"atrim=duration={length:.6f}",
        "asetpts=PTS-STARTPTS",
    ]
    if element.volume != 1:
        filters.append(f"volume={element.volume:g}")
    if source.fade_in > 0:
        filters.append(f"afade=t=in:st=0:d={min(source.fade_in, length):.6f}")
    if source.fade_out > 0:
        fade = min(source.fade_out, length)
        filters.append(f"afade=t=out:st={length - fade:.6f}:d={fade:.6f}")
    if clip.start > 0:
        filters.append(f"adelay=delays={round(clip.start * 1000)}:all=1")
    return f"[{source.input_label}]{','.join(filters)}[{out_label}]"


def _mix(labels: list[str], out_label: str) -> str:
    if len(labels) == 1:
        return f"[{labels[0]}]anull[{out_label}]"
    inputs = "".join(f"[{label}]" for label in labels)
    return f"{inputs}amix=inputs={len(labels)}:duration=longest:normalize=0[{out_label}]"


def audio_graph(sources: list[AudioSource], duration: float, *, loudnorm: bool) -> list[str]:
    """Filter chains ending in [aout], exactly `duration` long; empty when nothing is audible."""
    if not sources:
        return []
    chains = [audio_chain(source, f"a{n}") for n, source in enumerate(sources)]
    voice = [f"a{n}" for n, s in enumerate(sources) if s.clip.element.voiceover]
    rest = [f"a{n}" for n, s in enumerate(sources) if not s.clip.element.voiceover]
    if voice and rest:
        chains += [
            _mix(voice, "voice"),
            _mix(rest, "music"),
            # The key padded to the end: sidechaincompress stops with its shorter input, and
            # music that outlasts the voice-over must go on.
            f"[voice]apad=whole_dur={duration:.6f},asplit=2[voice_mix][voice_key]",
            f"[music][voice_key]{DUCKING}[ducked]",
            "[ducked][voice_mix]amix=inputs=2:duration=longest:normalize=0[mixed]",
        ]
    else:
        chains.append(_mix(voice or rest, "mixed"))
    tail = [LOUDNORM] if loudnorm else []
    tail += [f"apad=whole_dur={duration:.6f}", f"atrim=duration={duration:.6f}"]
    chains.append(f"[mixed]{','.join(tail)}[aout]")
    return chains
