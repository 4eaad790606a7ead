"""The compiler without FFmpeg: argv shape, timeline arithmetic, layout math, escaping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from media.compiler import CompiledRender, compile_render
from media.layout import Box, Fit, fit_media, rotated_size
from media.placement import Frame, place
from media.probe import MediaInfo
from media.text import DEFAULT_FONT, text_width, wrap_text
from media.timeline import resolve_timeline
from schemas.elements import ColorElement, ImageElement, VisualElement
from schemas.errors import JobError
from schemas.spec import VideoSpec

VIDEO = MediaInfo(
    kind="video",
    format_name="mov,mp4",
    width=640,
    height=360,
    duration=10.0,
    fps=30.0,
    has_video=True,
    has_audio=True,
    rotation=0,
    video_codec="h264",
    audio_codec="aac",
    pix_fmt="yuv420p",
    sample_aspect_ratio=(1, 1),
    frame_count=300,
)
IMAGE = MediaInfo(
    kind="image",
    format_name="png_pipe",
    width=100,
    height=100,
    duration=None,
    fps=None,
    has_video=True,
    has_audio=False,
    rotation=0,
    video_codec="png",
    audio_codec=None,
    pix_fmt="rgba",
    sample_aspect_ratio=None,
    frame_count=None,
)


def _spec(*elements: dict[str, Any], **output: Any) -> VideoSpec:
    return VideoSpec.model_validate({"width": 640, "height": 360, **output, "elements": list(elements)})


def _compile(spec: VideoSpec, infos: dict[int, MediaInfo]) -> CompiledRender:
    sources = {i: Path(f"/media/in{i}") for i in infos}
    return compile_render(
        spec, infos, sources, Path("/out/x.mp4"), work_dir=Path("/work"), threads=3, max_duration=600
    )


def test_inputs_are_local_only_seeked_and_bounded() -> None:
    spec = _spec({"type": "video", "source": "v", "trim_start": 2, "duration": 3, "x": 10})
    argv = _compile(spec, {0: VIDEO}).argv
    i = argv.index("-i")
    assert argv[i + 1] == "file:/media/in0"
    input_options = argv[argv.index("-nostdin") + 1 : i]
    assert (
        argv[argv.index("-protocol_whitelist") + 1] == "file,pipe" and "-protocol_whitelist" in input_options
    )
    assert argv[argv.index("-ss") + 1] == "2.000000" and argv.index("-ss") < i  # input seeking
    assert argv[argv.index("-t") + 1] == "3.000000"
    assert "-nostdin" in argv and argv.count("-filter_complex") == 1
    assert argv[argv.index("-filter_complex_threads") + 1] == "3"


def test_one_whole_video_is_remuxed_unless_the_output_outlasts_it() -> None:
    assert _compile(_spec({"type": "video", "source": "v"}), {0: VIDEO}).stream_copy
    assert _compile(_spec({"type": "video", "source": "v"}, duration=10), {0: VIDEO}).stream_copy
    longer = _compile(_spec({"type": "video", "source": "v"}, duration=12), {0: VIDEO})
    assert not longer.stream_copy and longer.duration == 12  # two seconds of background after it


def test_image_is_decoded_once_and_held() -> None:
    spec = _spec({"type": "image", "source": "i", "duration": 4})
    compiled = _compile(spec, {0: IMAGE})
    graph = compiled.argv[compiled.argv.index("-filter_complex") + 1]
    assert "trim=end_frame=1" in graph and "loop=loop=-1:size=1" in graph and "trim=duration=4" in graph
    assert compiled.duration == 4


def test_text_never_enters_the_graph() -> None:
    text = "a'b:c\\d%{pts}\n[x];y,z"
    spec = _spec({"type": "text", "text": text, "duration": 1})
    compiled = _compile(spec, {})
    graph = compiled.argv[compiled.argv.index("-filter_complex") + 1]
    assert "pts}" not in graph and "expansion=none" in graph
    (written,) = compiled.text_files.values()
    assert written.replace("\n", "") == text.replace("\n", "")


def test_option_values_are_escaped_for_both_parser_levels() -> None:
    spec = _spec({"type": "text", "text": "t", "font_family": "a:b'c[d],e;f", "duration": 1})
    compiled = _compile(spec, {})
    graph = compiled.argv[compiled.argv.index("-filter_complex") + 1]
    # option level escapes \ ' = :, then the graph level escapes \ ' [ ] , ; (backslashes included)
    assert "font=a\\\\:b\\\\\\'c\\[d\\]\\,e\\;f:" in graph


def test_timeline_durations() -> None:
    spec = _spec(
        {"type": "video", "source": "v", "trim_start": 4, "trim_end": 7},  # omitted: media length (3 s)
        {"type": "image", "source": "i", "time": 1},  # omitted: until the output ends
        {"type": "video", "source": "v", "duration": "media", "time": 2, "trim_start": 8},  # 2 s
    )
    timeline = resolve_timeline(spec, {0: VIDEO, 1: IMAGE, 2: VIDEO}, max_duration=600)
    assert timeline.duration == 4
    ends = {clip.index: (clip.start, clip.end) for clip in timeline.clips}
    assert ends == {0: (0, 3), 1: (1, 4), 2: (2, 4)}


def test_timeline_errors_name_the_element() -> None:
    with pytest.raises(JobError, match="nothing sets the output's length"):
        resolve_timeline(_spec({"type": "image", "source": "i"}), {0: IMAGE}, max_duration=600)
    with pytest.raises(JobError, match="more than the 5 s allowed"):
        resolve_timeline(_spec({"type": "color", "color": "#000000", "duration": 9}), {}, max_duration=5)
    with pytest.raises(JobError, match="element clip: duration 'media'"):
        resolve_timeline(
            _spec({"id": "clip", "type": "video", "source": "v", "duration": "media"}),
            {0: IMAGE},
            max_duration=600,
        )


def _box(element: VisualElement, media: tuple[int, int] | None) -> Box:
    return place(element, Frame(720, 1280), media, 1.0).static_box()


def test_boxes_and_anchors() -> None:
    def box(**fields: Any) -> Box:
        return _box(ColorElement.model_validate({"type": "color", "color": "#000000", **fields}), None)

    assert box(x="5%", y="5%", width="25%", height="25%") == Box(36, 64, 180, 320)
    assert box(width=100, height=50) == Box(310, 615, 100, 50)  # centered
    assert box(x="50%", y=0, x_anchor="50%", width=100, height=50) == Box(310, 0, 100, 50)
    assert box() == Box(0, 0, 720, 1280)
    media = _box(ImageElement.model_validate({"type": "image", "source": "i", "width": 200}), (400, 100))
    assert (media.w, media.h) == (200, 50)  # the missing side keeps the media's aspect


def test_fit_modes() -> None:
    box = Box(0, 0, 100, 100)
    assert fit_media("cover", 200, 100, box, fills_output=False) == Fit(200, 100, crop=(50, 0))
    assert fit_media("contain", 200, 100, box, fills_output=False) == Fit(100, 50, pad=(0, 25))
    assert fit_media("fill", 200, 100, box, fills_output=False) == Fit(100, 100)
    assert fit_media("auto", 200, 100, box, fills_output=True).crop is not None
    assert fit_media("auto", 200, 100, box, fills_output=False).pad is not None
    assert rotated_size(100, 20, 90) == (20, 100)


def test_transition_chain_uses_xfade_with_offsets() -> None:
    spec = _spec(
        {"type": "color", "color": "#ff0000", "duration": 3},
        {
            "type": "color",
            "color": "#0000ff",
            "time": 2,
            "duration": 3,
            "transition": {"type": "slideleft", "duration": 1},
        },
    )
    graph = _compile(spec, {}).argv[_compile(spec, {}).argv.index("-filter_complex") + 1]
    assert "xfade=duration=1.000000:offset=2.000000:transition=slideleft" in graph


def test_wrap_keeps_newlines_and_splits_long_words() -> None:
    wrapped = wrap_text("aaaaaaaaaaaaaaaaaaaa b\nc", lambda line: text_width(line, DEFAULT_FONT, 20), 60)
    lines = wrapped.split("\n")
    assert lines[-1] == "c" and len(lines) >= 4 and "".join(lines[:-1]).replace(" ", "") == "a" * 20 + "b"
