"""A long render split into chunks of picture that any worker renders, joined by stream copy.

Chunk boundaries fall on the output's keyframes (every GOP_SECONDS, which every H.264 render uses
as its only keyframes), so each chunk is a closed GOP run coded like the same stretch of the
one-pass render. Each chunk is a window of the timeline (media.timeline.window): whatever crosses a
boundary (a transition, an animation, a looping clip) continues exactly. The sound is rendered once
for the whole timeline and muxed at the join, so no seam can be heard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from media.output import INPUT_GUARD, gop_frames, output_fps
from schemas.spec import TimeRange, VideoSpec

CHUNKABLE_FORMATS = ("mp4", "mov")


@dataclass(frozen=True)
class Chunk:
    index: int
    start: float  # seconds on the output timeline
    duration: float


def chunkable(spec: VideoSpec, duration: float, min_seconds: float) -> bool:
    """Long enough to be worth splitting, and a format whose chunks join by stream copy."""
    return spec.output_format in CHUNKABLE_FORMATS and spec.range is None and duration > min_seconds


def plan(spec: VideoSpec, duration: float, chunk_seconds: float) -> list[Chunk]:
    """Chunks of about `chunk_seconds`, each a whole number of GOPs (the last takes the rest)."""
    fps = output_fps(spec)
    gop = gop_frames(spec)
    total = round(duration * fps)
    per_chunk = max(1, round(chunk_seconds * fps / gop)) * gop
    count = max(1, math.ceil(total / per_chunk))
    return [
        Chunk(n, n * per_chunk / fps, (min(total, (n + 1) * per_chunk) - n * per_chunk) / fps)
        for n in range(count)
    ]


def chunk_spec(spec: VideoSpec, chunk: Chunk) -> VideoSpec:
    """The spec rendering one chunk: the whole spec, windowed."""
    return spec.model_copy(update={"range": TimeRange(start=chunk.start, duration=chunk.duration)})


def join_args(chunks: list[Path], sound: Path | None, listing: Path, out_path: Path, fmt: str) -> list[str]:
    """FFmpeg argv (after the binary) joining the chunks in order and muxing the sound, no re-encode.

    The concat listing names local files only (written by us; `safe 0` only allows absolute paths).
    """
    listing.write_text("".join(f"file '{path}'\n" for path in chunks), encoding="utf-8")
    argv = [
        "-hide_banner",
        "-nostdin",
        "-y",
        *INPUT_GUARD,
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        f"file:{listing}",
    ]
    if sound is not None:
        argv += [*INPUT_GUARD, "-i", f"file:{sound}", "-map", "0:v:0", "-map", "1:a:0"]
    argv += ["-c", "copy", "-movflags", "+faststart", "-f", "mov" if fmt == "mov" else "mp4"]
    return [*argv, "-progress", "pipe:1", "-nostats", f"file:{out_path}"]
