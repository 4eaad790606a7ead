"""Golden-suite fixtures: media generated with FFmpeg's lavfi sources, and frame/audio readers."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from media.ffmpeg_bin import ffmpeg_bin
from media.render import RenderOutcome, render_video
from schemas.settings import Settings
from schemas.spec import VideoSpec

SETTINGS = Settings(ffmpeg_threads=1)
FFMPEG = ffmpeg_bin(SETTINGS)


def make(out: Path, *args: str) -> Path:
    """Run FFmpeg (1 thread) to create a test file."""
    if not out.exists():
        cmd = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-threads", "1", *args, str(out)]
        subprocess.run(cmd, check=True, timeout=120)
    return out


def lavfi(spec: str) -> list[str]:
    return ["-f", "lavfi", "-i", spec]


class Media:
    """Lazily generated inputs, shared by the whole session."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / name

    def color_png(self, color: str, w: int, h: int) -> Path:
        return make(self.path(f"{color}_{w}x{h}.png"), *lavfi(f"color=c={color}:s={w}x{h}"), "-frames:v", "1")

    def split_png(self) -> Path:
        """200x100: left half red, right half blue (fit modes show which part survives)."""
        graph = "color=c=red:s=100x100[l];color=c=blue:s=100x100[r];[l][r]hstack"
        return make(self.path("split.png"), "-filter_complex", graph, "-frames:v", "1")

    def alpha_png(self) -> Path:
        """64x64 red square, fully transparent left half."""
        graph = "color=c=red:s=64x64,format=rgba,geq=r=255:g=0:b=0:a='if(lt(X,32),0,255)'"
        return make(self.path("alpha.png"), *lavfi(graph), "-frames:v", "1")

    def video(
        self, color: str = "blue", *, seconds: float = 2, tone: int | None = 440, size: str = "320x240"
    ) -> Path:
        name = f"{color}_{size}_{seconds}_{tone}.mp4"
        audio = [*lavfi(f"sine=f={tone}:d={seconds}:sample_rate=48000"), "-c:a", "aac"] if tone else []
        return make(
            self.path(name),
            *lavfi(f"color=c={color}:s={size}:r=25:d={seconds}"),
            *audio,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        )

    def red_blue(self) -> Path:
        """64x48, 1 s: red for 0.5 s then blue, to see which part of a clip plays."""
        graph = "color=c=red:s=64x48:r=10:d=0.5[a];color=c=blue:s=64x48:r=10:d=0.5[b];[a][b]concat"
        return make(self.path("red_blue.mp4"), *lavfi(graph), "-c:v", "libx264", "-preset", "ultrafast")

    def tone(self, freq: int = 1000, seconds: float = 2, volume: float = 4.0) -> Path:
        """A sine; volume 4 gives amplitude 0.5 (lavfi sine is 1/8 full scale)."""
        source = f"sine=f={freq}:d={seconds}:sample_rate=48000,volume={volume}"
        return make(self.path(f"tone_{freq}_{seconds}_{volume}.wav"), *lavfi(source))


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return Media(tmp_path_factory.mktemp("media"))


Renderer = Callable[..., RenderOutcome]


@pytest.fixture
def render(tmp_path: Path) -> Renderer:
    """render({spec}, {index: path}) -> RenderOutcome, written under tmp_path."""

    def run(spec: dict[str, Any], sources: dict[int, Path] | None = None, **kwargs: Any) -> RenderOutcome:
        model = VideoSpec.model_validate(spec)
        out = tmp_path / f"out.{model.output_format}"
        coro = render_video(model, sources or {}, out, settings=kwargs.pop("settings", SETTINGS), **kwargs)
        return asyncio.run(coro)

    return run


def frame_at(path: Path, t: float) -> np.ndarray:
    """The RGB frame shown at time t (the last frame starting at or before t)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        chosen = None
        for frame in container.decode(stream):
            if frame.time is not None and frame.time > t + 1e-6:
                break
            chosen = frame
        assert chosen is not None, f"no frame at {t}"
        return chosen.to_ndarray(format="rgb24").astype(int)


def pixel(frame: np.ndarray, x: int, y: int) -> tuple[int, int, int]:
    r, g, b = frame[y, x]
    return int(r), int(g), int(b)


def near(actual: tuple[int, int, int], expected: tuple[int, int, int], tol: int = 24) -> bool:
    return all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True))


def audio_rms(path: Path, start: float, end: float) -> float:
    """RMS of the mixed-down audio between start and end seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = []
        for frame in container.decode(stream):
            data = frame.to_ndarray().astype(np.float64)
            mono = data.reshape(-1, frame.samples).mean(axis=0) if data.ndim > 1 else data
            times = frame.time + np.arange(frame.samples) / frame.sample_rate
            chunks.append(mono[(times >= start) & (times < end)])
    samples = np.concatenate(chunks)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def stream_codecs(path: Path) -> tuple[str | None, str | None]:
    with av.open(str(path)) as container:
        video = container.streams.video[0].codec_context.name if container.streams.video else None
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        return video, audio
