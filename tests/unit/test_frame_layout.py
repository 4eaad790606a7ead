"""The layout the studio draws its timeline and canvas from is the renderer's own: real lengths of
media, boxes where the placement puts them at that instant, drawing order, composition children
in output pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from media.frame_layout import FrameLayout, dotted_path, frame_layout
from media.probe import MediaInfo
from schemas.spec import VideoSpec

VIDEO = MediaInfo(
    kind="video", format_name="mov,mp4", width=1280, height=720, duration=7.5, fps=30.0,
    has_video=True, has_audio=False, rotation=0, video_codec="h264", audio_codec=None,
    pix_fmt="yuv420p", sample_aspect_ratio=(1, 1), frame_count=225,
)  # fmt: skip


def _layout(
    body: dict[str, Any], time: float, tmp_path: Path, infos: dict[int, MediaInfo] | None = None
) -> FrameLayout:
    spec = VideoSpec.model_validate({"output_format": "mp4", "width": 640, "height": 360, **body})
    sources = {index: tmp_path / f"{index}.mp4" for index in (infos or {})}
    return frame_layout(spec, infos or {}, sources, time, work_dir=tmp_path, max_duration=600)


def test_a_media_length_is_the_sources_and_sets_the_outputs(tmp_path: Path) -> None:
    layout = _layout(
        {
            "elements": [
                {"type": "video", "source": "https://example.com/a.mp4", "time": 1, "trim_start": 0.5}
            ]
        },
        2.0,
        tmp_path,
        {0: VIDEO},
    )
    (video,) = layout.elements
    assert (video.start, video.end) == (1.0, 8.0) and layout.duration == 8.0
    assert video.visible and video.box is not None and (video.box.width, video.box.height) == (640, 360)


def test_a_keyframed_box_is_where_it_is_at_that_instant(tmp_path: Path) -> None:
    moving = {
        "type": "shape", "shape": "rectangle", "fill_color": "#ff0000", "time": 1, "duration": 4,
        "x": [{"time": 0, "value": 0}, {"time": 2, "value": 200}], "y": "10%", "width": 100, "height": 50,
    }  # fmt: skip
    for time, x in ((1.0, 0.0), (2.0, 100.0), (3.0, 200.0), (4.0, 200.0)):
        (shape,) = _layout({"elements": [moving]}, time, tmp_path).elements
        assert shape.box is not None and shape.anchor is not None
        assert shape.box.x == pytest.approx(x) and shape.box.y == pytest.approx(36.0)
        assert shape.anchor.x == pytest.approx(x)
    (before,) = _layout({"elements": [moving]}, 0.5, tmp_path).elements
    assert not before.visible and (before.start, before.end) == (1.0, 5.0)


def test_anchors_scale_and_drawing_order(tmp_path: Path) -> None:
    body = {
        "duration": 3,
        "elements": [
            {"type": "shape", "shape": "ellipse", "fill_color": "#00ff00", "track": 5, "x": "50%", "y": "50%",
             "x_anchor": "50%", "y_anchor": "50%", "width": 100, "height": 60, "scale": 2},
            {"type": "color", "color": "#000000", "track": 1},
        ],
    }  # fmt: skip
    top, *_ = reversed(_layout(body, 1.0, tmp_path).elements)
    assert top.path == "elements.0"  # track 5 is drawn last
    assert top.box is not None and top.anchor is not None
    assert (top.box.width, top.box.height) == (200, 120)
    assert (top.box.x, top.box.y) == (220, 120) and (top.anchor.x, top.anchor.y) == (320, 180)


def test_composition_children_are_in_output_pixels_and_time(tmp_path: Path) -> None:
    body = {
        "elements": [
            {"type": "composition", "time": 1, "duration": 2, "x": 100, "y": 50, "width": 200, "height": 100,
             "elements": [{"type": "shape", "shape": "rectangle", "fill_color": "#0000ff", "x": 10, "y": 20,
                           "width": 30, "height": 40, "time": 0.5}]},
        ],
    }  # fmt: skip
    holder, child = _layout(body, 2.0, tmp_path).elements
    assert child.path == "elements.0.elements.0" and (child.start, child.end) == (1.5, 3.0)
    assert child.box is not None and (child.box.x, child.box.y) == (110, 70) and child.visible
    assert holder.box is not None and (holder.box.x, holder.box.y) == (100, 50)


def test_sound_has_a_span_and_no_box(tmp_path: Path) -> None:
    sound = MediaInfo(
        kind="audio", format_name="wav", width=None, height=None, duration=2.5, fps=None, has_video=False,
        has_audio=True, rotation=0, video_codec=None, audio_codec="pcm_s16le", pix_fmt=None,
        sample_aspect_ratio=None, frame_count=None,
    )  # fmt: skip
    (audio,) = _layout(
        {"elements": [{"type": "audio", "source": "https://example.com/a.wav"}]}, 1, tmp_path, {0: sound}
    ).elements
    assert (audio.start, audio.end, audio.box, audio.anchor) == (0.0, 2.5, None, None)
    assert dotted_path("elements[2].elements[10]") == "elements.2.elements.10"
