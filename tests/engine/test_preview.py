"""A preview frame is the final render's frame: for a composition with a keyframed element, a long
video source played late and text, the frame the studio shows at a time (on the frame grid or
between two frames) matches the one decoded from the finished video at that time. A clip is a
`preview: true` mp4 of its window."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from media.compiler import compile_render
from media.preview import PreviewService, frame_spec, prepare
from schemas.events import SourceFile
from schemas.settings import Settings
from schemas.spec import VideoSpec
from tests.engine.conftest import Media, Renderer, frame_at, lavfi, make, near, pixel

FPS = 30
BOX = 60  # the magenta square's side
# The square moves 89.5 px a second from x=0: at no tested frame does it stand on a whole pixel. A
# render of a window (a preview frame, a chunk) writes the window's start to the microsecond (frame
# 100 at 30 fps begins at 3.333333 s), so a position reached exactly on a frame may come out a hair
# short, which FFmpeg's overlay truncates and evens: 2 px off the one-pass render's.
END_X = 537
TRIM = 44.0  # the source is played from 44 s: 50 s at the output's 6 s


def _long_source(media: Media) -> Path:
    """60 s of detailed, moving picture (a clock in its corner), keyframes every 2 s."""
    return make(
        media.path("testsrc2_60.mp4"),
        *lavfi("testsrc2=s=320x180:r=25:d=60"),
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p",
    )  # fmt: skip


def _spec() -> dict[str, Any]:
    return {
        "width": 640,
        "height": 360,
        "fps": FPS,
        "quality": "high",
        "duration": 6,
        "elements": [
            {"type": "video", "source": "https://media.test/long.mp4", "track": 1, "trim_start": TRIM},
            {
                "type": "color",
                "color": "#ff00ff",
                "track": 2,
                "width": BOX,
                "height": BOX,
                "x": [{"time": 0, "value": 0}, {"time": 6, "value": END_X}],
                "y": 260,
            },
            {"type": "text", "text": "Preview", "track": 3, "x": 20, "y": 20, "font_size": 40},
        ],
    }


def _service(tmp_path: Path, source: Path) -> PreviewService:
    async def gather(spec: VideoSpec, directory: Path, settings: Settings) -> dict[int, SourceFile]:
        directory.mkdir(parents=True, exist_ok=True)
        linked = directory / "src_000.mp4"
        os.link(source, linked)
        return {
            0: SourceFile(
                url="https://media.test/long.mp4", path=str(linked), size_bytes=source.stat().st_size
            )
        }

    return PreviewService(Settings(ffmpeg_threads=1, data_dir=tmp_path / "data"), gather)


def _decoded(data: bytes, suffix: str, tmp_path: Path) -> np.ndarray:
    path = tmp_path / f"frame{suffix}"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("time", [0.0, 1.37, 3.0, 5.95])
def test_a_preview_frame_is_the_final_renders_frame(
    media: Media, render: Renderer, tmp_path: Path, time: float
) -> None:
    source = _long_source(media)
    final = render(_spec(), {0: source})
    shown = frame_at(final.path, time)
    service = _service(tmp_path, source)
    preview = asyncio.run(service.frame(VideoSpec.model_validate(_spec()), time, None, "png"))
    frame = _decoded(preview.data, ".png", tmp_path)
    assert frame.shape == shown.shape == (360, 640, 3)
    assert _psnr(frame, shown) >= 35.0, f"PSNR {_psnr(frame, shown):.1f} dB at {time} s"
    left = round(END_X * int(time * FPS + 1e-6) / FPS / 6)
    for at in ((left + 3, 263), (left + BOX - 3, 260 + BOX - 3)):  # inside the square, by its corners
        assert near(pixel(frame, *at), (255, 0, 255)), (time, at, pixel(frame, *at))
        assert near(pixel(shown, *at), (255, 0, 255)), (time, at, pixel(shown, *at))


def test_a_late_frame_seeks_its_source_instead_of_decoding_it_from_the_start(
    media: Media, tmp_path: Path
) -> None:
    source = _long_source(media)
    prepared = prepare(VideoSpec.model_validate(_spec()), {0: source}, Settings())
    still, _ = frame_spec(prepared, 5.9, "jpg")
    compiled = compile_render(
        still,
        prepared.infos,
        prepared.sources,
        tmp_path / "f.jpg",
        work_dir=tmp_path,
        threads=1,
        max_duration=3600,
    )
    argv = compiled.argv
    seek = float(argv[argv.index("-ss") + 1])
    assert TRIM + 5.9 - 0.2 <= seek <= TRIM + 5.9  # an input seek: decoding begins at the keyframe before


def test_frames_are_scaled_cached_and_jpeg_by_default(media: Media, tmp_path: Path) -> None:
    service = _service(tmp_path, _long_source(media))
    spec = VideoSpec.model_validate(_spec())
    first = asyncio.run(service.frame(spec, 2.0, 320, "jpg"))
    again = asyncio.run(service.frame(spec, 2.01, 320, "jpg"))  # the same frame of the grid
    assert (first.hit, again.hit, again.key, again.data) == (False, True, first.key, first.data)
    assert _decoded(first.data, ".jpg", tmp_path).shape == (180, 320, 3)


def test_a_clip_is_a_low_resolution_mp4_of_its_window(media: Media, tmp_path: Path) -> None:
    service = _service(tmp_path, _long_source(media))
    clip = asyncio.run(service.clip(VideoSpec.model_validate(_spec()), 4.0, 5.0))  # 2 s left of the video
    path = tmp_path / "clip.mp4"
    path.write_bytes(clip.data)
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 640, 360)
        assert float(container.duration or 0) / 1e6 == pytest.approx(2.0, abs=0.1)
        assert float(video.average_rate or 0) == pytest.approx(15.0)


def test_a_frame_of_a_held_image_is_rendered(media: Media, render: Renderer, tmp_path: Path) -> None:
    """An image's stream counts time in 1/25 s: a window of one 1/30 s frame at 1.1 s held none of
    its frames until held frames were timed in the output's (media.context.hold)."""
    image = media.split_png()
    spec = {
        "width": 320,
        "height": 180,
        "fps": FPS,
        "quality": "high",
        "duration": 3,
        "elements": [{"type": "image", "source": "https://media.test/split.png", "effect": "zoom-in"}],
    }
    final = render(spec, {0: image})

    async def gather(spec: VideoSpec, directory: Path, settings: Settings) -> dict[int, SourceFile]:
        directory.mkdir(parents=True, exist_ok=True)
        linked = directory / "src_000.png"
        os.link(image, linked)
        return {0: SourceFile(url="https://media.test/split.png", path=str(linked), size_bytes=1)}

    service = PreviewService(Settings(ffmpeg_threads=1, data_dir=tmp_path / "data"), gather)
    for time in (1.1, 1.3, 2.99):
        preview = asyncio.run(service.frame(VideoSpec.model_validate(spec), time, None, "png"))
        frame = _decoded(preview.data, ".png", tmp_path)
        assert _psnr(frame, frame_at(final.path, time)) >= 35.0, time
