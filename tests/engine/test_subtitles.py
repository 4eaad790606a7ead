"""Subtitles on rendered pixels: each cue in its window and place, the spoken word highlighted at
its time, hostile text drawn as the characters it is, files read and refused by line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import font_roboto
import numpy as np
import pytest

from media.compiler import compile_render
from media.fonts import font_key
from media.probe import probe
from media.text import DEFAULT_FONT, line_height, text_width
from schemas.errors import ErrorCode, JobError
from schemas.spec import VideoSpec
from tests.engine.conftest import Renderer, frame_at, lavfi, make

SIZE = 32


def _spec(*elements: dict[str, Any], duration: float = 3, width: int = 320) -> dict[str, Any]:
    return {"width": width, "height": 240, "fps": 10, "duration": duration, "elements": list(elements)}


def _subtitles(**fields: Any) -> dict[str, Any]:
    return {"type": "subtitles", "font_size": SIZE, "stroke": None, **fields}


def _ink(frame: np.ndarray) -> tuple[int, int, int, int] | None:
    """Left, top, right, bottom of the bright pixels, or None."""
    ys, xs = np.nonzero(frame.mean(axis=2) > 128)
    return (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())) if xs.size else None


def test_each_cue_shows_in_its_window_at_its_position(render: Renderer) -> None:
    cues = [{"start": 0.5, "end": 1.5, "text": "Bottom"}]
    top = [{"start": 2, "end": 2.5, "text": "Top"}]
    centre = [{"start": 2.5, "end": 3, "text": "Centre"}]
    out = render(
        _spec(
            _subtitles(cues=cues, margin=20),
            _subtitles(cues=top, position="top", margin="10%"),
            _subtitles(cues=centre, position="center"),
        )
    )
    line = line_height(DEFAULT_FONT, SIZE)
    for t in (0.0, 0.4, 1.5, 1.9):
        assert _ink(frame_at(out.path, t)) is None, t
    for t in (0.5, 1.0, 1.4):
        ink = _ink(frame_at(out.path, t))
        assert ink is not None and 240 - 20 - line <= ink[1] and ink[3] <= 240 - 20, (t, ink)
        assert abs((ink[0] + ink[2]) / 2 - 160) <= 3, ink  # centred
    ink = _ink(frame_at(out.path, 2.2))
    assert ink is not None and ink[1] >= 24 and ink[3] <= 24 + line, ink
    ink = _ink(frame_at(out.path, 2.7))
    assert ink is not None and 120 - line / 2 <= ink[1] and ink[3] <= 120 + line / 2, ink


def test_long_cues_wrap_within_max_width(render: Renderer) -> None:
    text = "one two three four five six seven"
    out = render(_spec(_subtitles(cues=[{"start": 0, "end": 1, "text": text}], max_width="50%"), duration=1))
    ink = _ink(frame_at(out.path, 0.5))
    assert ink is not None and ink[2] - ink[0] <= 160 and ink[3] - ink[1] > 2 * SIZE, ink


def test_the_spoken_word_takes_the_highlight_colour(render: Renderer) -> None:
    words = [{"start": 0, "end": 1, "text": "MMM"}, {"start": 1, "end": 2, "text": "WWW"}]
    cue = {"start": 0, "end": 2.5, "words": words}
    out = render(_spec(_subtitles(cues=[cue], highlight_color="#ffff00", position="center")))
    gap = text_width("MMM ", DEFAULT_FONT, SIZE) - text_width("MMM", DEFAULT_FONT, SIZE)
    left = 160 - (text_width("MMM WWW", DEFAULT_FONT, SIZE)) / 2
    split = round(left + text_width("MMM", DEFAULT_FONT, SIZE) + gap / 2)

    def colours(t: float) -> tuple[str, str]:
        frame = frame_at(out.path, t)
        halves = []
        for part in (frame[:, :split], frame[:, split:]):
            ink = part[part.mean(axis=2) > 128]
            halves.append("yellow" if ink[:, 2].mean() < 100 else "white")
        return halves[0], halves[1]

    assert colours(0.5) == ("yellow", "white")
    assert colours(1.0) == ("white", "yellow")  # the change comes on the word's first frame
    assert colours(1.5) == ("white", "yellow")
    assert colours(2.2) == ("white", "white")  # the cue is still shown, no word is spoken
    assert _ink(frame_at(out.path, 2.6)) is None


HOSTILE = "{\\an8}<font color=red>%{pts}</font> \"q\" 'a' back\\slash :;,[]="


def test_hostile_cue_text_renders_verbatim(render: Renderer) -> None:
    cue = {"start": 0, "end": 1, "text": HOSTILE}
    out = render(_spec(_subtitles(cues=[cue], font_size=SIZE - 14), duration=1, width=640))
    _check_verbatim(render, frame_at(out.path, 0.5), HOSTILE, SIZE - 14)


def _check_verbatim(render: Renderer, frame: np.ndarray, text: str, size: float) -> None:
    """The ink is that of a text element drawing the literal characters (an expansion or a tag
    taking effect would change it), at the bottom where {\\an8} would have moved it up."""
    literal = {"type": "text", "text": text, "font_size": size, "x": 0, "y": 0, "color": "#ffffff"}
    reference = frame_at(render(_spec(literal, duration=1, width=640)).path, 0.5)
    ink, expected = _ink(frame), _ink(reference)
    assert ink is not None and expected is not None and ink[1] > 120, ink
    got = frame[ink[1] : ink[3] + 1, ink[0] : ink[2] + 1]
    want = reference[expected[1] : expected[3] + 1, expected[0] : expected[2] + 1]
    assert got.shape == want.shape, (ink, expected)
    assert np.abs(got - want).mean() < 8


def test_a_subtitles_file_is_read_with_only_its_basic_tags_removed(render: Renderer, tmp_path: Path) -> None:
    srt = tmp_path / "talk.srt"
    srt.write_text(
        f"1\n00:00:00,200 --> 00:00:00,800\n<b>{HOSTILE}</b>\n\n2\n00:00:01,000 --> 00:00:01,500\nTwo\n",
        encoding="utf-8",
    )
    out = render(_spec(_subtitles(source="file", font_size=SIZE - 14), duration=2, width=640), {0: srt})
    assert _ink(frame_at(out.path, 0.9)) is None and _ink(frame_at(out.path, 1.2)) is not None
    _check_verbatim(render, frame_at(out.path, 0.5), HOSTILE, SIZE - 14)  # renders over out.path


@pytest.mark.parametrize("timing", ["00:00:01,000 --> 00:00:0x,500", "30:00:00,000 --> 30:00:01,000"])
def test_a_malformed_file_fails_naming_its_line(render: Renderer, tmp_path: Path, timing: str) -> None:
    srt = tmp_path / "bad.srt"
    srt.write_text(f"1\n00:00:00,200 --> 00:00:00,800\nOne\n\n2\n{timing}\nTwo\n")
    with pytest.raises(JobError) as caught:
        render(_spec(_subtitles(source="file"), duration=2), {0: srt})
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert "elements[0]" in caught.value.message and "line 6" in caught.value.message, caught.value.message


def test_many_cues_keep_their_times_across_segments(render: Renderer) -> None:
    """Forty cues, three concatenated segments of filters: each cue on its own frame, the frame
    after it empty, late in the last segment too."""
    cues = [{"start": n * 0.2, "end": n * 0.2 + 0.1, "text": f"Cue {n}"} for n in range(40)]
    out = render(_spec(_subtitles(cues=cues), duration=8))
    for n in (0, 1, 15, 16, 17, 31, 32, 39):
        assert _ink(frame_at(out.path, n * 0.2)) is not None, n
        assert _ink(frame_at(out.path, n * 0.2 + 0.1)) is None, n


def test_a_range_shows_the_cues_as_the_whole_render_does(render: Renderer, tmp_path: Path) -> None:
    words = [{"start": 1.0, "end": 1.6, "text": "spoken"}, {"start": 1.6, "end": 2.4, "text": "here"}]
    cues = [{"start": 0.4, "end": 0.9, "text": "First"}, {"start": 1.0, "end": 2.4, "words": words}]
    cues += [{"start": 2.5 + 0.1 * n, "end": 2.55 + 0.1 * n, "text": f"{n}"} for n in range(20)]
    spec = _spec(_subtitles(cues=cues, highlight_color="#ffff00", time=0.2), duration=5)
    whole = render(spec).path.rename(tmp_path / "whole.mp4")
    for start in (1.3, 2.8):
        part = render({**spec, "range": {"start": start, "duration": 1.2}})
        for t in (0.0, 0.3, 0.6, 1.1):
            difference = np.abs(frame_at(part.path, t) - frame_at(whole, start + t)).mean()
            assert difference < 1.5, (start, t, difference)


def test_a_still_layer_draws_only_the_band_its_cues_use(render: Renderer, tmp_path: Path) -> None:
    """Blending costs every pixel of the canvas, so the cues are drawn on the band they use. The
    pixels are those of the whole-box canvas (which a look such as a neutral brightness filter
    keeps), stroke, shadow and background box included, over a picture that is not flat."""
    cues = [{"start": 0, "end": 1, "text": "Bottom line"}, {"start": 1, "end": 2, "text": "A wider line"}]
    styled = _subtitles(
        cues=cues, stroke={"color": "#000000", "width": 3}, shadow={"x": 4, "y": 5, "color": "#ff0000"},
        background_color="#0000ff80", track=2,
    )  # fmt: skip
    picture = {"type": "video", "source": "v"}
    sources = {
        0: make(tmp_path / "pattern.mp4", *lavfi("testsrc2=s=320x240:r=10:d=2"), "-pix_fmt", "yuv420p")
    }
    spec = VideoSpec.model_validate(_spec(picture, styled, duration=2))
    out = tmp_path / "o.mp4"
    compiled = compile_render(
        spec, {0: probe(sources[0])}, sources, out, work_dir=tmp_path, threads=1, max_duration=60
    )
    graph = compiled.argv[compiled.argv.index("-filter_complex") + 1]
    canvases = re.findall(r"color=c=black@0[^;\[]*s=(\d+)x(\d+)", graph)
    assert len(canvases) == 1 and int(canvases[0][1]) < 240 / 2, canvases
    band = render(_spec(picture, styled, duration=2), sources).path.rename(tmp_path / "band.mp4")
    neutral = {**styled, "filters": [{"type": "brightness", "value": 0}]}
    whole = render(_spec(picture, neutral, duration=2), sources).path
    for t in (0.5, 1.5):
        difference = np.abs(frame_at(band, t) - frame_at(whole, t))
        assert difference.mean() < 0.5 and difference.max() <= 24, (t, difference.mean(), difference.max())


def test_a_font_file_url_draws_the_cues_and_a_cue_in_another_script_falls_back(render: Renderer) -> None:
    bold = Path(font_roboto.font_files["RobotoBlack"])
    cues = [{"start": 0, "end": 1, "text": "Bold words"}, {"start": 1, "end": 2, "text": "مرحبا שלום"}]
    url = _subtitles(cues=cues, font_family="https://fonts.test/black.ttf", position="top")
    out = render(_spec(url, _subtitles(cues=cues[:1]), duration=2), {font_key(0): bold})
    frame = frame_at(out.path, 0.5)
    black, regular = ((frame[rows].mean(axis=2) > 128).sum() for rows in (slice(0, 120), slice(120, 240)))
    assert black > 1.3 * regular, (black, regular)  # the fetched font, not the bundled one
    later = frame_at(out.path, 1.5)
    assert (later[:120].mean(axis=2) > 128).sum() > 200  # drawn in the bundled Arabic and Hebrew fonts


def test_an_unreadable_subtitles_font_fails_naming_the_element(render: Renderer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"\x00\x01\x00\x00 not really a font")
    element = _subtitles(
        id="captions", cues=[{"start": 0, "end": 1, "text": "Hi"}], font_family="https://f/b.ttf"
    )
    with pytest.raises(JobError) as err:
        render(_spec(element, duration=1), {font_key(0): bad})
    assert err.value.code == ErrorCode.INVALID_INPUT and "captions" in err.value.message
