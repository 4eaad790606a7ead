"""Test media made with FFmpeg's lavfi sources, and checks on rendered files (streams, pixels)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import numpy.typing as npt

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_color_video(
    path: Path, *, color: str, size: tuple[int, int], seconds: float, audio: bool, fps: int = 25
) -> Path:
    w, h = size
    args = ["-f", "lavfi", "-i", f"color=c={color}:s={w}x{h}:r={fps}:d={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-threads", "1"]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    ffmpeg(*args, str(path))
    return path


def make_noise_video(path: Path, *, size: tuple[int, int], seconds: float) -> Path:
    """Random pixels every frame: expensive to encode, so a render of it takes a while."""
    w, h = size
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"nullsrc=s={w}x{h}:r=25:d={seconds},geq=random(1)*255:128:128",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-threads",
        "1",
        str(path),
    )
    return path


def make_color_image(path: Path, *, color: str, size: tuple[int, int]) -> Path:
    w, h = size
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c={color}:s={w}x{h}:d=1", "-frames:v", "1", "-threads", "1", str(path)
    )
    return path


@dataclass(frozen=True)
class Probed:
    width: int
    height: int
    duration: float
    fps: float
    video_codec: str
    audio_codec: str | None


def probe_output(path: Path) -> Probed:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = float(container.duration / 1_000_000) if container.duration else 0.0
        return Probed(
            width=video.codec_context.width,
            height=video.codec_context.height,
            duration=duration,
            fps=float(video.average_rate or 0),
            video_codec=video.codec_context.name,
            audio_codec=audio.codec_context.name if audio else None,
        )


def pixel(path: Path, t: float, x: int, y: int) -> tuple[int, int, int]:
    """RGB of one output pixel at time t, decoded by FFmpeg."""
    out = subprocess.run(
        [
            FFMPEG,
            "-hide_banner",
            "-loglevel",
            "error",
            "-ss",
            f"{t}",
            "-i",
            str(path),
            "-frames:v",
            "1",
            "-vf",
            f"format=rgb24,crop=1:1:{x}:{y}",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-threads",
            "1",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return out[0], out[1], out[2]


def near(rgb: tuple[int, int, int], expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, expected, strict=True))


def frame_at(path: Path, t: float) -> npt.NDArray[np.uint8]:
    """The frame shown at `t` seconds, as an RGB array (height, width, 3)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_count = 1
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= t - 1e-3:
                return np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
    raise AssertionError(f"{path} has no frame at {t}s")


def frame_times(path: Path) -> list[float]:
    """Every video frame's timestamp (rounded to 0.1 ms)."""
    with av.open(str(path)) as container:
        return [round(float(frame.time), 4) for frame in container.decode(video=0)]


def psnr(a: Path, b: Path) -> float:
    """Average PSNR of two videos' frames, by FFmpeg's psnr filter (inf when identical)."""
    run = subprocess.run(
        [
            FFMPEG,
            "-hide_banner",
            "-i",
            str(a),
            "-i",
            str(b),
            "-lavfi",
            "psnr",
            "-threads",
            "1",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"average:([0-9.]+|inf)", run.stderr)
    assert match, run.stderr[-400:]
    return float("inf") if match.group(1) == "inf" else float(match.group(1))
