"""Audio-only outputs (mp3, wav, m4a): the timeline's mixed sound and nothing else.

The compiler builds no video graph for them, and only the sound is mapped, so FFmpeg opens no
video decoder: a video element costs its audio track alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from media.probe import MediaInfo
from schemas.elements import PlayableElement
from schemas.errors import ErrorCode, JobError
from schemas.events import Encoding
from schemas.spec import VideoSpec

# format -> (encoder, muxer). libmp3lame is in imageio-ffmpeg's static build; m4a is AAC in the
# iPod flavour of MP4, which players that know .m4a expect.
AUDIO_ENCODERS = {"mp3": ("libmp3lame", "mp3"), "wav": ("pcm_s16le", "wav"), "m4a": ("aac", "ipod")}


def audio_encoding(spec: VideoSpec) -> Encoding:
    codec, _ = AUDIO_ENCODERS[spec.output_format]
    bitrate = None if spec.output_format == "wav" else "192k" if spec.quality == "high" else "128k"
    return Encoding(audio_codec=codec, audio_bitrate=bitrate)


def audio_encoder_options(spec: VideoSpec, duration: float) -> dict[str, object]:
    """Output options of an audio-only file (ffmpeg-python turns each into `-name value`)."""
    enc = audio_encoding(spec)
    options: dict[str, object] = {"t": f"{duration:.6f}", "c:a": enc.audio_codec}
    if enc.audio_bitrate is not None:
        options["b:a"] = enc.audio_bitrate
    if spec.output_format == "m4a":
        options["movflags"] = "+faststart"
    return {**options, "f": AUDIO_ENCODERS[spec.output_format][1]}


def nothing_heard(spec: VideoSpec, infos: Mapping[int, MediaInfo]) -> JobError:
    """Why an audio-only output has no sound: validation only knows what the spec says, probing
    knows which sources have an audio stream."""
    mute = [
        spec.element_label(p.index)
        for p in spec.placed
        if isinstance(p.element, PlayableElement)
        and not p.element.silent
        and p.index in infos
        and not infos[p.index].has_audio
    ]
    reason = (
        f"{', '.join(mute)} {'has' if len(mute) == 1 else 'have'} no audio stream"
        if mute
        else "no audible element plays within it"
    )
    return JobError(
        ErrorCode.INVALID_INPUT,
        f"{spec.output_format} outputs are sound only, and nothing in this one can be heard: {reason}; "
        "add a source with sound",
        {"field": "elements", "silent_sources": mute},
    )
