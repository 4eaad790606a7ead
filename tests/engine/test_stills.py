"""Poster and thumbnail: JPEGs of the stated size showing the frame the video shows at their time,
written by the render's own FFmpeg run, or cut from the file when it was stream-copied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from media.compiler import compile_render
from media.probe import probe
from schemas.spec import VideoSpec
from tests.engine.conftest import Media, Renderer, frame_at, near, pixel

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _changing(**output: Any) -> dict[str, Any]:
    """320x240 at 10 fps: red for 1 s, then green, then blue until 3 s."""
    colors = [("#ff0000", 0), ("#00ff00", 1), ("#0000ff", 2)]
    elements = [{"type": "color", "color": c, "time": t, "duration": 1} for c, t in colors]
    return {"width": 320, "height": 240, "fps": 10, **output, "elements": elements}


def _size_and_color(path: Path) -> tuple[tuple[int | None, int | None], tuple[int, int, int]]:
    info = probe(path)
    assert (
        info.kind == "image" and info.format_name in ("image2", "jpeg_pipe") and info.video_codec == "mjpeg"
    )
    return (info.width, info.height), pixel(frame_at(path, 0), 10, 10)


@pytest.mark.parametrize(
    ("poster_at", "thumbnail_at", "poster_color", "thumbnail_color"),
    [(1.5, 2.5, GREEN, BLUE), (0.95, 1.0, RED, GREEN), (0.0, 99.0, RED, BLUE)],
)
def test_poster_and_thumbnail_show_the_frame_at_their_time(
    render: Renderer,
    poster_at: float,
    thumbnail_at: float,
    poster_color: tuple[int, int, int],
    thumbnail_color: tuple[int, int, int],
) -> None:
    spec = _changing(poster={"time": poster_at}, thumbnail={"time": thumbnail_at, "width": 160})
    out = render(spec)
    assert out.poster is not None and out.thumbnail is not None
    assert out.poster.name == "out.poster.jpg" and out.thumbnail.name == "out.thumb.jpg"
    poster_size, poster_pixel = _size_and_color(out.poster)
    thumbnail_size, thumbnail_pixel = _size_and_color(out.thumbnail)
    assert poster_size == (320, 240) and thumbnail_size == (160, 120)
    assert near(poster_pixel, poster_color) and near(thumbnail_pixel, thumbnail_color)
    # the very frame the video shows then (past the end: its last)
    assert near(poster_pixel, pixel(frame_at(out.path, poster_at), 10, 10))
    assert near(thumbnail_pixel, pixel(frame_at(out.path, min(thumbnail_at, 2.95)), 10, 10))


def test_they_are_outputs_of_the_render_itself() -> None:
    spec = VideoSpec.model_validate(_changing(poster={"time": 1}, thumbnail=True))
    out = Path("/work/out.mp4")
    compiled = compile_render(spec, {}, {}, out, work_dir=Path("."), threads=1, max_duration=60)
    argv = compiled.argv
    assert compiled.stills == {
        "poster": out.with_name("out.poster.jpg"),
        "thumbnail": out.with_name("out.thumb.jpg"),
    }
    targets = [arg for arg in argv if arg.startswith("file:")]
    assert targets == [
        f"file:{out}",
        f"file:{compiled.stills['poster']}",
        f"file:{compiled.stills['thumbnail']}",
    ]
    assert argv.count("-filter_complex") == 1 and "split=3" in argv[argv.index("-filter_complex") + 1]


def test_thumbnail_true_is_one_second_in_at_most_640_wide(render: Renderer) -> None:
    out = render({**_changing(thumbnail=True), "width": 1280, "height": 720})
    assert out.thumbnail is not None and out.poster is None
    size, color = _size_and_color(out.thumbnail)
    assert size == (640, 360) and near(color, GREEN)


def test_a_poster_of_a_range_counts_from_the_range(render: Renderer) -> None:
    out = render(_changing(range={"start": 1.5, "duration": 1}, poster={"time": 0.7}))
    assert out.poster is not None and near(_size_and_color(out.poster)[1], BLUE)


def test_a_gif_gets_them_too(render: Renderer) -> None:
    out = render(_changing(output_format="gif", poster={"time": 2.2}, thumbnail={"time": 0.5, "width": 64}))
    assert out.poster is not None and out.thumbnail is not None
    poster_size, poster_color = _size_and_color(out.poster)
    thumbnail_size, thumbnail_color = _size_and_color(out.thumbnail)
    assert poster_size == (320, 240) and near(poster_color, BLUE)
    assert thumbnail_size == (64, 48) and near(thumbnail_color, RED)


def test_a_stream_copied_output_gets_them_from_a_second_pass(media: Media, render: Renderer) -> None:
    source = media.red_blue()  # 64x48, 10 fps: red for 0.5 s, then blue
    spec = {
        "width": 64,
        "height": 48,
        "fps": 10,
        "poster": {"time": 0.7},
        "thumbnail": {"time": 0.45, "width": 32},
        "elements": [{"type": "video", "source": "v"}],
    }
    model = VideoSpec.model_validate(spec)
    compiled = compile_render(
        model,
        {0: probe(source)},
        {0: source},
        Path("out.mp4"),
        work_dir=Path("."),
        threads=1,
        max_duration=60,
    )
    assert compiled.stream_copy and not compiled.stills
    out = render(spec, {0: source})
    assert out.stream_copy and out.poster is not None and out.thumbnail is not None
    poster_size, poster_color = _size_and_color(out.poster)
    thumbnail_size, thumbnail_color = _size_and_color(out.thumbnail)
    assert poster_size == (64, 48) and near(poster_color, BLUE)
    assert thumbnail_size == (32, 24) and near(thumbnail_color, RED)
    late = render({**spec, "poster": {"time": 50}}, {0: source})
    assert late.poster is not None and near(_size_and_color(late.poster)[1], BLUE)
