"""A chunked render equals the one-pass render: same frames at the same times (PSNR >= 45 dB),
same sound, with a transition and an animated title crossing chunk boundaries."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import av
import numpy as np

from media.chunked import render_chunked
from media.chunks import plan
from schemas.spec import VideoSpec
from tests.engine.conftest import SETTINGS, Media, Renderer
from tests.media import frame_times, psnr


def _spec() -> dict[str, Any]:
    slide = {"type": "slide", "direction": "left", "duration": 0.8, "easing": "ease-out"}
    return {
        "width": 320,
        "height": 240,
        "fps": 10,
        "duration": 8,
        "elements": [
            {"type": "video", "source": "v", "duration": 2.5, "duration_mode": "loop", "fit_mode": "fill"},
            {"type": "video", "source": "w", "time": 1.5, "duration_mode": "loop", "fit_mode": "fill",
             "transition": {"type": "circleopen", "duration": 1}},
            {"type": "text", "text": "Across the cut", "track": 2, "time": 3.6, "duration": 3, "x": 20,
             "y": 20,
             "font_size": 28, "animations": [slide, {"type": "fade", "time": "end"}]},
            {"type": "color", "color": "#ffff00", "track": 3, "width": 30, "height": 30, "y": 200,
             "x": [{"time": 0, "value": 0}, {"time": 8, "value": 290, "easing": "ease-in-out"}]},
            {"type": "audio", "source": "a", "fade_in": 1, "fade_out": 1},
        ],
    }  # fmt: skip


def _samples(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([frame.to_ndarray().reshape(-1) for frame in container.decode(audio=0)])


def test_chunked_render_equals_the_one_pass_render(media: Media, render: Renderer, tmp_path: Path) -> None:
    sources = {
        0: media.red_blue(),
        1: media.video("green", seconds=3, tone=None),
        4: media.tone(440, seconds=8),
    }
    spec = _spec()
    one_pass = Path(shutil.copy(render(spec, sources).path, tmp_path / "one_pass.mp4"))
    model = VideoSpec.model_validate(spec)
    assert len(plan(model, 8, 2)) == 4  # boundaries at 2, 4, 6 s: the transition and the title cross them
    chunked = asyncio.run(
        render_chunked(
            model, sources, tmp_path / "chunked.mp4", settings=SETTINGS, duration=8, chunk_seconds=2
        )
    )
    assert frame_times(chunked.path) == frame_times(one_pass) and len(frame_times(one_pass)) == 80
    assert psnr(chunked.path, one_pass) >= 45  # 56 dB when written
    ours, theirs = _samples(chunked.path), _samples(one_pass)
    assert (
        abs(len(ours) - len(theirs)) <= 2048
        and np.abs(ours[: len(theirs)] - theirs[: len(ours)]).max() < 1e-3
    )
