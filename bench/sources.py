"""Bench inputs, generated with FFmpeg's lavfi sources (nothing downloaded, nothing committed)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

MONTAGE_CLIPS = 6
MONTAGE_CLIP_SECONDS = 11


@dataclass(frozen=True)
class Sources:
    background: Path  # 1280x720 30 fps, 10 s, with a tone
    logos: list[Path]  # 4 PNGs with alpha, 300x300
    music: Path  # 60 s stereo
    clips: list[Path]  # 6 x 11 s, 1920x1080 30 fps, silent
    stills: list[Path]  # 5 PNG photos-to-be, 1920x1080
    greenscreen: Path  # 640x360 30 fps, 10 s, silent: a moving subject on pure green


def _make(ffmpeg: str, out: Path, *args: str) -> Path:
    if not out.exists():
        cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *args, str(out)]
        subprocess.run(cmd, check=True)
    return out


def make_sources(ffmpeg: str, root: Path) -> Sources:
    root.mkdir(parents=True, exist_ok=True)
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p"]
    background = _make(
        ffmpeg,
        root / "background.mp4",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=1280x720:r=30:d=10",
        "-f",
        "lavfi",
        "-i",
        "sine=f=330:d=10",
        *x264,
        "-c:a",
        "aac",
        "-shortest",
    )
    colors = ["red", "lime", "yellow", "cyan"]
    logos = [
        _make(
            ffmpeg,
            root / f"logo_{color}.png",
            "-f",
            "lavfi",
            "-i",
            f"color=c={color}:s=300x300,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':"
            "a='if(lt(hypot(X-150,Y-150),140),255,0)'",
            "-frames:v",
            "1",
        )
        for color in colors
    ]
    music = _make(ffmpeg, root / "music.wav", "-f", "lavfi", "-i", "sine=f=220:d=60,volume=2", "-ac", "2")
    patterns = ["testsrc2", "smptehdbars", "rgbtestsrc", "gradients", "testsrc", "yuvtestsrc"]
    clips = [
        _make(
            ffmpeg,
            root / f"clip_{n}.mp4",
            "-f",
            "lavfi",
            "-i",
            f"{pattern}=s=1920x1080:r=30:d={MONTAGE_CLIP_SECONDS}",
            *x264,
        )
        for n, pattern in enumerate(patterns[:MONTAGE_CLIPS])
    ]
    stills = [
        _make(
            ffmpeg, root / f"still_{n}.png", "-f", "lavfi", "-i", f"{pattern}=s=1920x1080", "-frames:v", "1"
        )
        for n, pattern in enumerate(["testsrc2", "smptehdbars", "pal100bars", "mandelbrot", "testsrc"])
    ]
    greenscreen = _make(
        ffmpeg,
        root / "greenscreen.mp4",
        "-f",
        "lavfi",
        "-i",
        "color=c=0x00ff00:s=640x360:r=30:d=10[g];testsrc2=s=240x240:r=30:d=10[s];"
        "[g][s]overlay=x='60+300*t/10':y=60[out0]",
        *x264,
    )
    return Sources(
        background=background, logos=logos, music=music, clips=clips, stills=stills, greenscreen=greenscreen
    )
