"""`range` and `preview`: a part of the timeline looks exactly like that part of the whole render,
motion, fades, transitions, loops, speed and nested compositions carried on where they were."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from media.probe import probe
from schemas.errors import ErrorCode, JobError
from tests.engine.conftest import Media, Renderer, frame_at


def _rich(media: Media) -> tuple[dict[str, Any], dict[int, Any]]:
    clip = media.red_blue()  # 1 s, red then blue
    wipe = {"type": "wipe", "direction": "left", "duration": 1.5, "easing": "ease-in-out"}
    video = {"type": "video", "source": "v", "duration": 2.5, "duration_mode": "loop", "speed": 0.8}
    green = {"type": "color", "color": "#00ff00", "time": 2, "duration": 2}
    box = {"type": "color", "color": "#ffffff", "track": 2, "width": 40, "height": 40, "fade_in": 1}
    path = [{"time": 0, "value": 0}, {"time": 4, "value": 280, "easing": "ease-in-out"}]
    typed = {"type": "text", "text": "typewriter here", "track": 3, "x": 10, "y": 180, "font_size": 24}
    typing = [{"type": "typewriter", "duration": 3, "easing": "linear"}, wipe]
    nested = {"type": "color", "color": "#ff00ff", "width": "50%", "height": "50%"}
    composition = {"type": "composition", "track": 4, "x": 200, "y": 120, "width": 100, "height": 100}
    image = {"type": "image", "source": "i", "track": 5, "x": 0, "y": 100, "width": 80, "height": 60}
    spec = {
        "width": 320,
        "height": 240,
        "fps": 10,
        "duration": 4,
        "elements": [
            {**video, "fit_mode": "fill"},
            {**green, "transition": {"type": "wipeleft", "duration": 1}},
            {**box, "fade_out": 1, "x": path, "y": 20},
            {**typed, "animations": typing},
            {
                **composition,
                "time": 0.5,
                "rotation": [{"time": 0, "value": 0}, {"time": 3, "value": 90}],
                "elements": [{**nested, "animations": [{"type": "slide", "direction": "up", "duration": 2}]}],
            },
            {
                **image,
                "effect": "zoom-in",
                "time": 0.2,
                "opacity": [{"time": 0, "value": 0.2}, {"time": 3, "value": 1}],
            },
        ],
    }
    return spec, {0: clip, 5: media.split_png()}


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


@pytest.mark.parametrize("start", [1.3, 2.4])
def test_a_range_equals_that_part_of_the_whole(
    media: Media, render: Renderer, tmp_path: Path, start: float
) -> None:
    spec, sources = _rich(media)
    whole = shutil.copy(render(spec, sources).path, tmp_path / "whole.mp4")
    part = render({**spec, "range": {"start": start, "duration": 1.2}}, sources)
    assert abs(part.duration_seconds - 1.2) <= 0.1
    for t in (0.0, 0.3, 0.6, 1.1):
        difference = _difference(frame_at(part.path, t), frame_at(whole, start + t))
        assert difference < 3.0, (t, difference)  # encoding noise only; a shifted layer costs far more


def test_a_range_past_the_end_is_refused(media: Media, render: Renderer) -> None:
    spec, sources = _rich(media)
    with pytest.raises(JobError) as caught:
        render({**spec, "range": {"start": 9, "duration": 1}}, sources)
    assert caught.value.code == ErrorCode.INVALID_INPUT and "range.start" in caught.value.message


def test_preview_is_small_sparse_and_laid_out_like_the_full_render(media: Media, render: Renderer) -> None:
    spec, sources = _rich(media)
    spec = {**spec, "width": 1280, "height": 720, "fps": 30}
    out = render({**spec, "preview": True}, sources)
    info = probe(out.path)
    assert (info.width, info.height) == (640, 360) and info.fps == 15
    assert abs(out.duration_seconds - 4) <= 0.1
