"""Time: fades, transitions between clips on a track, trim, loop and freeze, durations."""

from __future__ import annotations

import av

from tests.engine.conftest import Media, Renderer, frame_at, near, pixel

RED, BLUE, BLACK = (255, 0, 0), (0, 0, 255), (0, 0, 0)


def _spec(*elements: dict, **output: object) -> dict:
    return {"width": 320, "height": 240, "fps": 10, **output, "elements": list(elements)}


def _frames(path: object) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_fade_in_and_out_pass_through_intermediate_luma(render: Renderer) -> None:
    out = render(_spec({"type": "color", "color": "#ffffff", "duration": 2, "fade_in": 1, "fade_out": 0.5}))
    early, middle, late = (pixel(frame_at(out.path, t), 160, 120)[0] for t in (0.0, 0.5, 1.2))
    assert early < 40 and 80 < middle < 190 and late > 230
    assert pixel(frame_at(out.path, 1.8), 160, 120)[0] < 150


def test_element_timing_and_output_duration(render: Renderer) -> None:
    out = render(
        _spec(
            {"type": "color", "color": "#ff0000", "time": 0.5, "duration": 1},
            {"type": "color", "color": "#0000ff", "time": 1.5, "duration": 0.5, "width": 40, "height": 40},
        )
    )
    assert abs(out.duration_seconds - 2.0) <= 0.1
    assert _frames(out.path) == 20  # exactly duration x fps
    assert near(pixel(frame_at(out.path, 0.3), 160, 120), BLACK)
    assert near(pixel(frame_at(out.path, 0.6), 160, 120), RED)
    assert near(pixel(frame_at(out.path, 1.6), 160, 120), BLUE)
    assert near(pixel(frame_at(out.path, 1.6), 20, 20), BLACK)


def test_crossfade_between_clips_on_a_track(render: Renderer) -> None:
    out = render(
        _spec(
            {"type": "color", "color": "#ff0000", "duration": 1.5},
            {
                "type": "color",
                "color": "#0000ff",
                "time": 1,
                "duration": 1.5,
                "transition": {"type": "crossfade", "duration": 1},
            },
        )
    )
    assert abs(out.duration_seconds - 2.5) <= 0.1
    assert near(pixel(frame_at(out.path, 0.5), 160, 120), RED)
    r, _, b = pixel(frame_at(out.path, 1.5), 160, 120)
    assert 60 < r < 200 and 60 < b < 200  # half way: a mix of both
    assert near(pixel(frame_at(out.path, 2.2), 160, 120), BLUE)


def test_wipe_transition_moves_across(render: Renderer) -> None:
    out = render(
        _spec(
            {"type": "color", "color": "#ff0000", "duration": 2},
            {
                "type": "color",
                "color": "#0000ff",
                "time": 1,
                "duration": 1,
                "transition": {"type": "wipeleft", "duration": 1},
            },
        )
    )
    frame = frame_at(out.path, 1.5)
    assert near(pixel(frame, 20, 120), RED) and near(pixel(frame, 300, 120), BLUE)


def test_trim_loop_and_freeze(media: Media, render: Renderer) -> None:
    """A 1 s red clip then blue: loop shows red again, freeze holds blue, auto ends."""
    clip = media.red_blue()
    box = {"type": "video", "source": "c", "duration": 2, "width": 100, "height": 100, "y": 70}
    out = render(
        _spec(
            {**box, "x": 0, "duration_mode": "loop"},
            {**box, "x": 110, "duration_mode": "freeze"},
            {**box, "x": 220},
            {**box, "x": 0, "y": 0, "height": 60, "trim_start": 0.5},
        ),
        {i: clip for i in range(4)},
    )
    frame = frame_at(out.path, 1.2)
    assert near(pixel(frame, 50, 120), RED)  # looped back to the start
    assert near(pixel(frame, 160, 120), BLUE)  # last frame held
    assert near(pixel(frame, 270, 120), BLACK)  # media over: gone
    assert near(pixel(frame_at(out.path, 0.1), 50, 30), BLUE)  # trimmed past the red half


def test_loop_repeats_the_trimmed_segment(media: Media, render: Renderer) -> None:
    """Segment [0.25, 1.0) of red|blue loops with period 0.75 s, restarting at trim_start."""
    clip = media.red_blue()
    out = render(
        _spec({"type": "video", "source": "c", "duration": 2, "trim_start": 0.25, "duration_mode": "loop"}),
        {0: clip},
    )
    colors = [pixel(frame_at(out.path, t), 160, 120) for t in (0.1, 0.5, 0.8, 1.1)]
    assert [near(c, RED) for c in colors] == [True, False, True, False]
    assert near(colors[3], BLUE)


def test_everything_at_once_renders(media: Media, render: Renderer) -> None:
    """Transitions between boxed, rotated, faded, translucent clips of every kind, with sound."""
    box = {"x": 40, "y": 30, "width": 120, "height": 90, "track": 2}
    out = render(
        _spec(
            {"type": "video", "source": "v", "fit_mode": "contain", "volume": 0.5},
            {**box, "type": "image", "source": "i", "duration": 1, "rotation": 15, "opacity": 0.8},
            {
                **box,
                "type": "color",
                "color": "#00ff0080",
                "time": 0.5,
                "duration": 1,
                "fade_in": 0.3,
                "transition": {"type": "slideup", "duration": 0.5},
            },
            {
                **box,
                "type": "text",
                "text": "end",
                "time": 1.2,
                "duration": 0.8,
                "background_color": "#000000",
                "transition": {"type": "circleopen", "duration": 0.3},
            },
            {"type": "audio", "source": "a", "voiceover": True, "time": 0.5},
        ),
        {0: media.video("blue", seconds=2, size="320x180"), 1: media.alpha_png(), 4: media.tone(seconds=1)},
    )
    assert abs(out.duration_seconds - 2.0) <= 0.1
    assert near(pixel(frame_at(out.path, 0.1), 300, 120), BLUE)
