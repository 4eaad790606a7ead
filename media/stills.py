"""Poster and thumbnail: JPEG frames of the output, stored beside it.

Where the render decodes and encodes, each is one more output of the same FFmpeg run: a branch
of the finished stream, cut to the frame shown at its time and scaled. That costs a frame or two
encoded as JPEG, where a second run would decode the finished file again. A stream-copied output
and a chunked render decode no finished picture, so their stills come from a second run over the
finished file, seeking close to their time first (`second_pass_argv`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from media.graph import Filter, Stream, chain, command, f, media_input, split
from media.output import INPUT_PROTOCOLS
from schemas.outputs import THUMBNAIL_MAX_WIDTH, Thumbnail
from schemas.spec import VideoSpec

StillKind = Literal["poster", "thumbnail"]
STILL_KINDS: tuple[StillKind, ...] = ("poster", "thumbnail")
THUMBNAIL_AT_SECONDS = 1.0
SEEK_MARGIN_SECONDS = 1.0  # a second pass seeks this far before the frame and cuts the rest in the graph
_SUFFIX: dict[StillKind, str] = {"poster": "poster", "thumbnail": "thumb"}


@dataclass(frozen=True)
class Still:
    kind: StillKind
    time: float | None  # seconds into the output; None: 1 s in, the middle of a shorter output
    width: int | None  # exactly this wide; None: the output's width, at most `max_width`
    max_width: int | None
    quality: int  # JPEG -q:v, 2 (best) to 31

    def at(self, duration: float) -> float:
        """The time of the frame, clamped to the output (its last frame, at the very end)."""
        wanted = min(THUMBNAIL_AT_SECONDS, duration / 2) if self.time is None else self.time
        return max(0.0, min(wanted, duration))

    def filters(self, at: float, since: float, fps: float) -> list[Filter]:
        """The frame shown at `at` seconds of the stream: the last one whose time is not later.
        `trim` cuts near it (rounding its bounds to the time base, so loosely), `select` keeps the
        frames from `since` to `at` exactly, and the image is written over with each, so the last
        one stays. Past the end, the last frame is the one kept."""
        filters = [
            f("trim", start=f"{since:.6f}", end=f"{at + 1.0 / fps:.6f}"),
            f("select", f"between(t,{since:.6f},{at + 1e-4:.6f})"),
        ]
        if self.width is not None:
            filters.append(f("scale", w=self.width, h=-2))
        elif self.max_width is not None:
            filters.append(f("scale", w=f"min({self.max_width},iw)", h=-2))
        return [*filters, f("setsar", 1), f("format", "yuvj420p")]

    def options(self) -> dict[str, object]:
        return {"update": 1, "q:v": self.quality, "f": "image2"}


def stills(spec: VideoSpec) -> list[Still]:
    """The frames the spec asks for besides its output."""
    wanted: list[Still] = []
    if spec.poster is not None:
        wanted.append(Still("poster", spec.poster.time, None, None, quality=2))
    if isinstance(spec.thumbnail, Thumbnail):
        width = spec.thumbnail.width
        max_width = THUMBNAIL_MAX_WIDTH if width is None else None
        wanted.append(Still("thumbnail", spec.thumbnail.time, width, max_width, quality=3))
    elif spec.thumbnail:
        wanted.append(Still("thumbnail", None, None, THUMBNAIL_MAX_WIDTH, quality=3))
    return wanted


def still_path(output: Path, kind: StillKind) -> Path:
    return output.with_name(f"{output.stem}.{_SUFFIX[kind]}.jpg")


Output = tuple[list[Stream], str, dict[str, object]]


def tap(
    wanted: list[Still], video: Stream, duration: float, fps: float, output: Path
) -> tuple[Stream, list[Output], dict[StillKind, Path]]:
    """The finished stream split into the output's and one branch per still: the stream to
    encode, the stills' outputs for `graph.command`, and their files."""
    if not wanted:
        return video, [], {}
    video, *branches = split(video, 1 + len(wanted))
    outputs: list[Output] = []
    for still, branch in zip(wanted, branches, strict=True):
        at = still.at(duration)
        stream = chain(branch, still.filters(at, max(0.0, at - 2.0 / fps), fps))
        outputs.append(([stream], f"file:{still_path(output, still.kind)}", still.options()))
    return video, outputs, {still.kind: still_path(output, still.kind) for still in wanted}


def second_pass_argv(still: Still, video: Path, duration: float, fps: float, threads: int) -> list[str]:
    """One still from the finished file: the input seeks (decoding only from the keyframe before
    the seek point), so this costs a fraction of a second, not a decode of the whole video. Every
    frame after the seek point is a candidate: the duration probed is the longest stream's, and the
    picture may end a little before the sound."""
    at = still.at(duration)
    seek = max(0.0, at - SEEK_MARGIN_SECONDS)
    source = media_input(
        f"file:{video}", ss=f"{seek:.6f}", threads=threads, protocol_whitelist=INPUT_PROTOCOLS
    )
    # Timestamps after an input seek count from the seek point.
    stream = chain(source.video, still.filters(at - seek, 0.0, fps))
    out = f"file:{still_path(video, still.kind)}"
    options = {**still.options(), "progress": "pipe:1", "nostats": None}
    return command([([stream], out, options)], ["-hide_banner", "-nostdin", "-y"])
