"""Audio in and out of the engines, through the project's FFmpeg, bounded like the engines."""

from __future__ import annotations

import wave
from pathlib import Path

from media.ffmpeg_bin import ffmpeg_bin
from media.voices import child
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings

RECOGNIZER_RATE = 16_000
_HEADER_BYTES = 4096


def max_seconds(settings: Settings) -> float:
    """Speech and audio to transcribe are at most as long as the longest output."""
    return settings.max_output_duration_sec


def for_recognizer(
    source: Path, dest: Path, settings: Settings, deadline: child.Deadline, what: str
) -> float:
    """`source` (any format FFmpeg reads) as 16 kHz mono s16 WAV at `dest`; returns its duration.
    Longer than the longest output: INVALID_INPUT."""
    limit = max_seconds(settings)
    _ffmpeg(
        settings, deadline, what, source, dest,
        ["-t", f"{limit + 1:g}", "-ac", "1", "-ar", str(RECOGNIZER_RATE)],
        max_bytes=int((limit + 2) * RECOGNIZER_RATE * 2) + _HEADER_BYTES,
    )  # fmt: skip
    seconds = duration(dest)
    if seconds > limit:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"{what}: the audio is longer than MAX_OUTPUT_DURATION_SEC={limit:g} s; trim it first",
        )
    return seconds


def mono_wav(
    source: Path,
    dest: Path,
    settings: Settings,
    deadline: child.Deadline,
    what: str,
    *,
    rate: int,
    tempo: float,
) -> None:
    """`source` as mono s16 WAV at `rate`, played `tempo` times as fast (atempo: pitch kept)."""
    limit = max_seconds(settings)
    tempo_filter = ["-af", f"atempo={tempo:g}"] if tempo != 1 else []
    _ffmpeg(
        settings, deadline, what, source, dest,
        [*tempo_filter, "-t", f"{limit + 1:g}", "-ac", "1", "-ar", str(rate)],
        max_bytes=int((limit + 2) * rate * 2) + _HEADER_BYTES,
    )  # fmt: skip


def duration(wav_path: Path) -> float:
    with wave.open(str(wav_path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def _ffmpeg(
    settings: Settings,
    deadline: child.Deadline,
    what: str,
    source: Path,
    dest: Path,
    options: list[str],
    *,
    max_bytes: int,
) -> None:
    argv = [
        ffmpeg_bin(settings), "-nostdin", "-v", "error", "-y", "-threads", "1", "-i", str(source),
        "-map", "0:a:0", "-vn", *options, "-c:a", "pcm_s16le", "-f", "wav", str(dest),
    ]  # fmt: skip
    try:
        child.run(
            argv,
            request=b"",
            deadline=deadline,
            max_bytes=max_bytes,
            what=what,
            failure=ErrorCode.FFMPEG_ERROR,
        )
    except child.TooLarge:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"{what}: the audio is longer than MAX_OUTPUT_DURATION_SEC={max_seconds(settings):g} s",
        ) from None
