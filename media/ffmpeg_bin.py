"""Which FFmpeg binary to run: FFMPEG_BIN if set, else the static build in imageio-ffmpeg."""

from __future__ import annotations

import imageio_ffmpeg

from schemas.settings import Settings


def ffmpeg_bin(settings: Settings) -> str:
    return settings.ffmpeg_bin or imageio_ffmpeg.get_ffmpeg_exe()
