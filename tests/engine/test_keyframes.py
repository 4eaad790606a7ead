"""Motion: keyframed properties, easings, scale about an anchor, opacity ramps, animation presets,
Ken Burns effects, speed, text placement and nested compositions, checked on rendered pixels."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from media.compiler import compile_render
from schemas.spec import VideoSpec
from tests.engine.conftest import Media, Renderer, frame_at, lavfi, make, near, pixel

RED, BLUE, WHITE, BLACK = (255, 0, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)


def _spec(*elements: dict[str, Any], **output: Any) -> dict[str, Any]:
    return {"width": 320, "height": 240, "fps": 10, "duration": 3, **output, "elements": list(elements)}


def _box(**fields: Any) -> dict[str, Any]:
    return {"type": "color", "color": "#ffffff", "width": 20, "height": 20, **fields}


def _bright_columns(frame: np.ndarray, row: int) -> list[int]:
    return [x for x in range(frame.shape[1]) if frame[row, x].mean() > 128]


def _left_edge(frame: np.ndarray, row: int) -> int:
    columns = _bright_columns(frame, row)
    assert columns, f"nothing bright on row {row}"
    return columns[0]


def test_an_element_follows_its_keyframed_path(render: Renderer) -> None:
    path = [{"time": 0, "value": 0}, {"time": 2, "value": 200}]
    out = render(_spec(_box(x=path, y=[{"time": 0, "value": 20}, {"time": 2, "value": "50%"}])))
    for t, x, y in ((0.0, 0, 20), (1.0, 100, 70), (2.0, 200, 120), (2.5, 200, 120)):
        frame = frame_at(out.path, t)
        assert abs(_left_edge(frame, y + 10) - x) <= 2, t
        rows = [r for r in range(240) if frame[r, x + 10].mean() > 128]
        assert abs(rows[0] - y) <= 2, t


def test_each_easing_shapes_its_segment(render: Renderer) -> None:
    easings = ["linear", "ease-in", "ease-out", "ease-in-out", "step"]
    elements = [
        _box(y=40 * n, x=[{"time": 0, "value": 0}, {"time": 2, "value": 200, "easing": easing}])
        for n, easing in enumerate(easings)
    ]
    frame = frame_at(render(_spec(*elements)).path, 0.5)
    at = {easing: _left_edge(frame, 40 * n + 10) for n, easing in enumerate(easings)}
    # a quarter of the way: linear 50, cubic in 3, cubic out 116, in-out 12, step still at 0
    expected = {"linear": 50, "ease-in": 3, "ease-out": 116, "ease-in-out": 12, "step": 0}
    for easing, x in expected.items():
        assert abs(at[easing] - x) <= 3, (easing, at)


def test_scale_grows_about_the_anchor_point(render: Renderer) -> None:
    box = _box(
        color="#ff0000", x="50%", y="50%", x_anchor="50%", y_anchor="50%", width=40, height=40,
        scale=[{"time": 0, "value": 1}, {"time": 1, "value": "200%"}],
    )  # fmt: skip
    out = render(_spec(box))
    for t, half in ((0.0, 20), (1.5, 40)):
        frame = frame_at(out.path, t)
        columns = [x for x in range(320) if near(pixel(frame, x, 120), RED)]
        assert abs(columns[0] - (160 - half)) <= 2 and abs(columns[-1] - (160 + half - 1)) <= 2, t


def test_opacity_ramps_between_keyframes(render: Renderer) -> None:
    white = {
        "type": "color",
        "color": "#ffffff",
        "opacity": [{"time": 0, "value": 0}, {"time": 2, "value": 1}],
    }
    out = render(_spec(white))
    levels = [pixel(frame_at(out.path, t), 160, 120)[0] for t in (0.0, 1.0, 2.0)]
    assert levels[0] < 30 and 100 < levels[1] < 160 and levels[2] > 235


def test_rotation_keyframes_turn_the_element(render: Renderer) -> None:
    bar = _box(x="50%", y="50%", x_anchor="50%", y_anchor="50%", width=160, height=10,
               rotation=[{"time": 0, "value": 0}, {"time": 1, "value": 90}])  # fmt: skip
    out = render(_spec(bar))
    flat, upright = frame_at(out.path, 0.0), frame_at(out.path, 1.5)
    assert near(pixel(flat, 100, 120), WHITE) and near(pixel(flat, 160, 60), BLACK)
    assert near(pixel(upright, 160, 60), WHITE) and near(pixel(upright, 100, 120), BLACK)


def test_fade_slide_and_scale_presets_at_start_middle_and_end(render: Renderer) -> None:
    def anim(kind: str, **extra: Any) -> dict[str, Any]:
        return {"type": kind, "time": "start", "duration": 1, "easing": "linear", **extra}

    fade = _box(x=0, y=0, width=80, height=80, animations=[anim("fade")])
    slide = _box(x=200, y=160, width=80, height=80, animations=[anim("slide", direction="left")])
    grow = _box(x=200, y=0, width=80, height=80, x_anchor="0%", animations=[anim("scale")])
    out = render(_spec(fade, slide, grow))
    start, middle, end = (frame_at(out.path, t) for t in (0.0, 0.5, 1.2))
    assert (
        pixel(start, 40, 40)[0] < 30 and 90 < pixel(middle, 40, 40)[0] < 170 and pixel(end, 40, 40)[0] > 235
    )
    # the slide enters from the left edge: off screen, half way (x = 200 - 280 / 2 = 60), there
    assert not _bright_columns(start, 200)
    assert abs(_left_edge(middle, 200) - 60) <= 3 and abs(_left_edge(end, 200) - 200) <= 2
    # the scale grows from nothing about the top-left anchor to its size
    assert pixel(start, 240, 40)[0] < 30
    assert near(pixel(middle, 210, 10), WHITE) and near(pixel(middle, 270, 70), BLACK)
    assert near(pixel(end, 270, 70), WHITE)


def test_exit_presets_play_over_the_last_seconds(render: Renderer) -> None:
    fade = _box(x=0, y=0, width=80, height=80, duration=2,
                animations=[{"type": "fade", "time": "end", "duration": 1, "easing": "linear"}])  # fmt: skip
    out = render(_spec(fade))
    levels = [pixel(frame_at(out.path, t), 40, 40)[0] for t in (0.5, 1.5, 1.9)]
    assert levels[0] > 235 and 90 < levels[1] < 170 and levels[2] < 60


def test_wipe_reveals_from_its_edge_and_spin_ends_upright(render: Renderer) -> None:
    reveal = {"type": "wipe", "direction": "left", "duration": 1, "easing": "linear"}
    wipe = _box(x=0, y=0, width=200, height=60, animations=[reveal])
    spin = _box(x=240, y=160, width=60, height=60, animations=[{"type": "spin", "duration": 1}])
    out = render(_spec(wipe, spin))
    middle, end = frame_at(out.path, 0.5), frame_at(out.path, 1.5)
    assert near(pixel(middle, 20, 30), WHITE) and near(pixel(middle, 180, 30), BLACK)
    assert near(pixel(end, 180, 30), WHITE)
    assert near(pixel(end, 242, 162), WHITE) and near(pixel(end, 297, 217), WHITE)


def test_typewriter_reveals_text_progressively(render: Renderer) -> None:
    text = {
        "type": "text", "text": "WWWWWWWW", "font_size": 40, "x": 10, "y": 100, "color": "#ffffff",
        "animations": [{"type": "typewriter", "duration": 2, "easing": "linear"}],
    }  # fmt: skip
    out = render(_spec(text))
    lit = [int((frame_at(out.path, t)[90:160].mean(axis=2) > 128).sum()) for t in (0.0, 0.6, 1.2, 2.5)]
    assert lit[0] < lit[1] < lit[2] < lit[3] and lit[0] <= lit[3] // 6


def test_ken_burns_effects_move_monotonically(media: Media, render: Renderer) -> None:
    """A white square in the middle of a black picture grows under zoom-in and travels left under
    pan-left: a little every frame, never back."""
    image = make(
        media.path("square.png"),
        *lavfi("color=black:s=200x100,drawbox=x=90:y=40:w=20:h=20:color=white:t=fill"),
        "-frames:v",
        "1",
    )
    for effect in ("zoom-in", "pan-left"):
        spec = _spec({"type": "image", "source": "i", "effect": effect, "effect_scale": 1.5}, duration=2)
        out = render(spec, {0: image})
        spans = [_bright_columns(frame_at(out.path, n / 10), 120) for n in range(0, 20)]
        widths, lefts = [s[-1] - s[0] for s in spans], [s[0] for s in spans]
        if effect == "zoom-in":
            assert all(b >= a for a, b in itertools.pairwise(widths)) and widths[-1] > widths[0] * 1.3, widths
        else:
            assert all(b <= a for a, b in itertools.pairwise(lefts)) and lefts[-1] < lefts[0] - 20, lefts
            assert len(set(lefts)) > 10, lefts  # moves every frame or so, not in jumps


def test_speed_changes_when_the_source_changes_colour(media: Media, render: Renderer) -> None:
    clip = media.red_blue()  # red for 0.5 s, then blue
    out = render(
        _spec(
            {"type": "video", "source": "v", "speed": 0.5, "duration": "media", "fit_mode": "fill"},
            duration=None,
        ),
        {0: clip},
    )
    assert abs(out.duration_seconds - 2.0) <= 0.15  # 1 s of source at half speed
    assert near(pixel(frame_at(out.path, 0.8), 160, 120), RED)
    assert near(pixel(frame_at(out.path, 1.3), 160, 120), BLUE)


def test_text_sits_where_it_is_put(render: Renderer) -> None:
    text = {"type": "text", "text": "Hi", "font_size": 40, "x": 0, "y": 0, "color": "#ffffff"}
    frame = frame_at(render(_spec(text)).path, 0.5)
    lit = np.argwhere(frame.mean(axis=2) > 128)
    assert lit[:, 0].min() < 20 and lit[:, 1].min() < 12  # at the top-left corner
    assert lit[:, 0].max() < 60 and lit[:, 1].max() < 60  # not centred in the output


def test_nested_composition_is_placed_and_timed(render: Renderer) -> None:
    composition = {
        "type": "composition", "x": 160, "y": 0, "width": 160, "height": 120, "time": 1,
        "elements": [{"type": "color", "color": "#ff0000", "width": "50%", "time": 0.5}],
    }  # fmt: skip
    out = render(_spec({"type": "color", "color": "#0000ff"}, composition))
    assert near(pixel(frame_at(out.path, 1.2), 200, 60), BLUE)  # the nested element starts at 1.5
    late = frame_at(out.path, 2.0)
    assert near(pixel(late, 200, 60), RED) and near(pixel(late, 280, 60), BLUE)  # 50 % of its box
    assert near(pixel(late, 200, 180), BLUE) and near(pixel(late, 100, 60), BLUE)


def test_a_thousand_keyframes_render_through_a_graph_file(render: Renderer, tmp_path: Path) -> None:
    """One if() per keyframe nested 90 deep was too deep for FFmpeg's parser, and the graph of
    2,000 too long for a command line: halving keeps the nesting shallow, and a long graph is read
    from a file."""
    easings = ["linear", "ease-in-out", "ease-out-bounce", "cubic-bezier(0.3, 0, 0.2, 1)"]
    x = [{"time": k / 500, "value": (k * 37) % 280, "easing": easings[k % 4]} for k in range(1000)]
    spec = _spec(_box(y=100, x=x), duration=2)
    compiled = compile_render(VideoSpec.model_validate(spec), {}, {}, tmp_path / "o.mp4",
                              work_dir=tmp_path, threads=1, max_duration=60)  # fmt: skip
    graph = Path(compiled.argv[compiled.argv.index("-/filter_complex") + 1])
    assert len(compiled.text_files[graph]) > 100_000
    out = render(spec)
    for t in (0.0, 0.5, 1.0, 1.3, 1.9):  # on a keyframe: its value, truncated to an even pixel by overlay
        assert abs(_left_edge(frame_at(out.path, t), 110) - (round(t * 500) * 37) % 280) <= 2, t
