"""Output formats, codecs, sizes, stills at snapshot_time, and the stream-copy fast path."""

from __future__ import annotations

import pytest

from media.compiler import compile_render
from media.probe import probe
from schemas.spec import VideoSpec
from tests.engine.conftest import Media, Renderer, frame_at, near, pixel, stream_codecs

RED, BLUE = (255, 0, 0), (0, 0, 255)


def _spec(fmt: str, **output: object) -> dict:
    elements = [
        {"type": "color", "color": "#ff0000", "duration": 1},
        {"type": "color", "color": "#0000ff", "time": 1, "duration": 1},
        {"type": "audio", "source": "t"},
    ]
    return {"output_format": fmt, "width": 160, "height": 120, "fps": 10, **output, "elements": elements}


@pytest.mark.parametrize(
    ("fmt", "codecs"),
    [("mp4", ("h264", "aac")), ("webm", ("vp9", "opus")), ("mov", ("h264", "aac")), ("gif", ("gif", None))],
)
def test_video_formats(media: Media, render: Renderer, fmt: str, codecs: tuple[str, str | None]) -> None:
    out = render(_spec(fmt), {2: media.tone(seconds=2)})
    assert stream_codecs(out.path) == codecs
    assert (out.width, out.height) == (160, 120)
    assert abs(out.duration_seconds - 2.0) <= 0.1 + (0.1 if fmt == "gif" else 0)
    assert near(pixel(frame_at(out.path, 0.5), 80, 60), RED, tol=40)
    assert near(pixel(frame_at(out.path, 1.5), 80, 60), BLUE, tol=40)
    assert probe(out.path).sample_aspect_ratio in (None, (1, 1))


def test_mp4_is_faststart(media: Media, render: Renderer) -> None:
    data = render(_spec("mp4"), {2: media.tone(seconds=2)}).path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")


@pytest.mark.parametrize("fmt", ["jpg", "png"])
def test_still_at_snapshot_time(media: Media, render: Renderer, fmt: str) -> None:
    out = render(_spec(fmt, snapshot_time=1.5), {2: media.tone(seconds=2)})
    info = probe(out.path)
    assert info.kind == "image" and (info.width, info.height) == (160, 120)
    assert near(pixel(frame_at(out.path, 0), 80, 60), BLUE, tol=40)


def test_identical_output_is_stream_copied(media: Media, render: Renderer) -> None:
    source = media.video("blue", seconds=1, size="320x240")
    spec = VideoSpec.model_validate(
        {
            "output_format": "mp4",
            "width": 320,
            "height": 240,
            "fps": 25,
            "elements": [{"type": "video", "source": "v"}],
        }
    )
    compiled = compile_render(
        spec,
        {0: probe(source)},
        {0: source},
        source.with_suffix(".copy.mp4"),
        work_dir=source.parent,
        threads=1,
        max_duration=60,
    )
    assert compiled.stream_copy and "-filter_complex" not in compiled.argv
    out = render(spec.model_dump(), {0: source})
    assert stream_codecs(out.path) == ("h264", "aac") and abs(out.duration_seconds - 1.0) < 0.1
