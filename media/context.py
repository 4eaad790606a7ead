"""What every builder of one render shares: the spec, the probed media, the opened inputs and
the text files the graph reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media.graph import Filter, f, media_input
from media.output import INPUT_PROTOCOLS
from media.probe import MediaInfo
from media.timeline import Clip, invalid
from schemas.errors import JobError
from schemas.spec import VideoSpec

LIBVPX = {"vp8": "libvpx", "vp9": "libvpx-vp9"}


@dataclass
class RenderContext:
    spec: VideoSpec
    infos: Mapping[int, MediaInfo]
    sources: Mapping[int, Path]
    threads: int
    work_dir: Path
    inputs: dict[int, Any] = field(default_factory=dict)  # flat element index -> ffmpeg-python input
    text_files: dict[Path, str] = field(default_factory=dict)  # written before FFmpeg runs

    @property
    def fps(self) -> float:
        return self.spec.fps

    def invalid(self, clip: Clip, reason: str) -> JobError:
        return invalid(self.spec, clip.index, reason)

    def media(self, clip: Clip) -> Any:
        """The clip's source, opened once (its video and audio share the input), seeked and
        bounded by input options so nothing is decoded twice or past what plays."""
        if clip.index not in self.inputs:
            options: dict[str, object] = {}
            if clip.loops and clip.media_length is not None and not clip.loops_segment:
                options["stream_loop"] = -1
            if clip.source_start > 0 and clip.media_length is not None:
                options["ss"] = f"{clip.source_start:.6f}"
            if clip.media_length is not None:
                options["t"] = f"{clip.decoded_length:.6f}"
            info = clip.info
            if info is not None and info.video_codec in LIBVPX and info.has_alpha:
                options["c:v"] = LIBVPX[info.video_codec]  # native VP8/VP9 decoders drop alpha
            path = self.sources[clip.index]
            self.inputs[clip.index] = media_input(
                f"file:{path}", threads=self.threads, protocol_whitelist=INPUT_PROTOCOLS, **options
            )
        return self.inputs[clip.index]

    def hold(self, skip: float = 0.0) -> list[Filter]:
        """One frame repeated for ever at the output's rate from time `skip`: stills are drawn and
        scaled once. Timed in the output's frames (1/fps, as the `fps` filter times a video's): an
        image's stream counts in 1/25 s, where frames at 30 fps and more share timestamps, a window
        of one frame (a preview frame, a range) could hold none of them, and a transition with a
        video could not join two clocks."""
        start = f"+round({skip:.6f}/TB)" if skip else ""
        return [
            f("loop", loop=-1, size=1, start=0),
            f("settb", f"1/{self.fps:g}"),
            f("setpts", f"N/({self.fps:g}*TB){start}"),
        ]
