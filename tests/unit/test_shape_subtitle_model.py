"""shape, gradient fills and subtitles at the door: defaults, and each bad field refused at its path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.elements import ColorElement, ShapeElement, SubtitlesElement, source_of
from schemas.spec import VideoSpec
from schemas.subtitles import MAX_TEXT_DRAWS


def _spec(*elements: dict[str, Any]) -> VideoSpec:
    return VideoSpec.model_validate({"width": 320, "height": 240, "elements": list(elements)})


def _errors(*elements: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        _spec(*elements)
    return {".".join(str(p) for p in err["loc"]): err["msg"] for err in caught.value.errors()}


def _cue(start: float, end: float, text: str | None = "hi", **fields: Any) -> dict[str, Any]:
    return {"start": start, "end": end, **({"text": text} if text is not None else {}), **fields}


def test_shapes_and_gradients_parse_with_their_defaults() -> None:
    spec = _spec(
        {"type": "shape", "shape": "ellipse", "fill_color": "#FF0000"},
        {
            "type": "shape",
            "shape": "rectangle",
            "fill_gradient": {"colors": ["#000000", "#ffffff80"]},
            "border_radius": "10%",
            "stroke": {"color": "#ffffff", "width": 4},
        },
        {"type": "shape", "shape": "line", "stroke": {"color": "#ffffff", "width": 3}},
        {"type": "color", "fill_gradient": {"type": "radial", "colors": ["#000000", "#ffffff", "#ff0000"]}},
    )
    ellipse, rounded, line, color = spec.elements
    assert (
        isinstance(ellipse, ShapeElement) and ellipse.fill_color == "#ff0000" and ellipse.border_radius == 0
    )
    assert isinstance(rounded, ShapeElement) and rounded.fill_gradient is not None
    assert rounded.fill_gradient.type == "linear" and rounded.fill_gradient.angle == 180
    assert isinstance(line, ShapeElement) and line.stroke is not None and line.stroke.width == 3
    assert isinstance(color, ColorElement) and color.color is None and color.fill_gradient is not None


@pytest.mark.parametrize(
    ("element", "path", "hint"),
    [
        ({"type": "shape", "shape": "star", "fill_color": "#ffffff"}, "elements.0.shape", "rectangle"),
        ({"type": "shape", "shape": "ellipse"}, "elements.0.fill_color", "needs fill_color"),
        (
            {
                "type": "shape",
                "shape": "ellipse",
                "fill_color": "#ffffff",
                "fill_gradient": {"colors": ["#000000", "#ffffff"]},
            },
            "elements.0.fill_gradient",
            "not both",
        ),
        ({"type": "shape", "shape": "line"}, "elements.0.stroke", "stroke"),
        (
            {"type": "shape", "shape": "line", "fill_color": "#ffffff", "stroke": {"width": 2}},
            "elements.0.fill_color",
            "no fill",
        ),
        (
            {"type": "shape", "shape": "ellipse", "fill_color": "#ffffff", "border_radius": 8},
            "elements.0.border_radius",
            "rectangles only",
        ),
        (
            {"type": "shape", "shape": "rectangle", "fill_color": "#ffffff", "border_radius": -3},
            "elements.0.border_radius",
            "negative",
        ),
        (
            {"type": "shape", "shape": "rectangle", "fill_gradient": {"colors": ["#000000"]}},
            "elements.0.fill_gradient.colors",
            "at least 2",
        ),
        (
            {
                "type": "shape",
                "shape": "rectangle",
                "fill_gradient": {"type": "conic", "colors": ["#000000", "#ffffff"]},
            },
            "elements.0.fill_gradient.type",
            "linear",
        ),
        (
            {"type": "shape", "shape": "rectangle", "fill_gradient": {"colors": ["red", "#ffffff"]}},
            "elements.0.fill_gradient.colors.0",
            "not a color",
        ),
        ({"type": "color"}, "elements.0", "exactly one"),
        (
            {"type": "color", "color": "#000000", "fill_gradient": {"colors": ["#000000", "#ffffff"]}},
            "elements.0",
            "exactly one",
        ),
        (
            {"type": "shape", "shape": "rectangle", "fill_color": "#ffffff", "duration": "media"},
            "elements.0",
            "no media",
        ),
    ],
)
def test_bad_shapes_are_refused_at_their_path(element: dict[str, Any], path: str, hint: str) -> None:
    errors = _errors(element)
    assert path in errors, errors
    assert hint.lower() in errors[path].lower(), errors


def test_subtitles_parse_with_their_defaults_and_read_a_source() -> None:
    spec = _spec(
        {"type": "subtitles", "source": "https://example.com/talk.srt"},
        {
            "type": "subtitles",
            "cues": [
                _cue(0.5, 2),
                {
                    "start": 2,
                    "end": 3,
                    "words": [
                        {"start": 2, "end": 2.4, "text": "Two"},
                        {"start": 2.4, "end": 3, "text": "words"},
                    ],
                },
            ],
            "highlight_color": "#FFFF00",
        },
    )
    from_file, inline = spec.elements
    assert isinstance(from_file, SubtitlesElement) and source_of(from_file) == "https://example.com/talk.srt"
    assert from_file.position == "bottom" and from_file.margin == "5%" and from_file.max_width == "90%"
    assert from_file.color == "#ffffff" and from_file.stroke is not None and from_file.stroke.width == 3
    assert from_file.width is None and from_file.height is None  # the whole output
    assert isinstance(inline, SubtitlesElement) and source_of(inline) is None
    assert inline.cues is not None and inline.cues[1].shown == "Two words"
    assert inline.highlight_color == "#ffff00"


def _too_many() -> dict[str, Any]:
    words = [{"start": 0.1 * n, "end": 0.1 * n + 0.1, "text": f"w{n}"} for n in range(40)]
    cues = [
        {
            "start": 4 * n,
            "end": 4 * n + 4,
            "words": [{**w, "start": 4 * n + w["start"], "end": 4 * n + w["end"]} for w in words],
        }
        for n in range(16)
    ]
    return {"type": "subtitles", "cues": cues, "highlight_color": "#ffff00"}


@pytest.mark.parametrize(
    ("element", "path", "hint"),
    [
        ({"type": "subtitles"}, "elements.0.source", "give one of source"),
        (
            {"type": "subtitles", "source": "https://example.com/a.srt", "cues": [_cue(0, 1)]},
            "elements.0.source",
            "give one of source",
        ),
        ({"type": "subtitles", "cues": [_cue(2, 1)]}, "elements.0.cues.0.end", "end after"),
        (
            {"type": "subtitles", "cues": [_cue(0, 90_000)]},
            "elements.0.cues.0.end",
            "less than or equal to 86400",
        ),
        ({"type": "subtitles", "cues": [_cue(0, 1, None)]}, "elements.0.cues.0.text", "text or words"),
        ({"type": "subtitles", "cues": [_cue(0, 2), _cue(1.5, 3)]}, "elements.0.cues.1.start", "overlap"),
        (
            {
                "type": "subtitles",
                "cues": [
                    _cue(
                        0,
                        2,
                        "a b",
                        words=[{"start": 0, "end": 1, "text": "a"}, {"start": 1, "end": 3, "text": "b"}],
                    )
                ],
            },
            "elements.0.cues.0.words.1",
            "inside its cue",
        ),
        (
            {
                "type": "subtitles",
                "cues": [
                    _cue(
                        0,
                        2,
                        "a c",
                        words=[{"start": 0, "end": 1, "text": "a"}, {"start": 1, "end": 2, "text": "b"}],
                    )
                ],
            },
            "elements.0.cues.0.words",
            "spell",
        ),
        (
            {
                "type": "subtitles",
                "cues": [
                    _cue(
                        0,
                        2,
                        None,
                        words=[{"start": 1, "end": 2, "text": "a"}, {"start": 0.5, "end": 1, "text": "b"}],
                    )
                ],
            },
            "elements.0.cues.0.words.1.start",
            "time order",
        ),
        (
            {
                "type": "subtitles",
                "cues": [_cue(0, 2, None, words=[{"start": 0, "end": 1, "text": "two words"}])],
            },
            "elements.0.cues.0.words.0.text",
            "pattern",
        ),
        (
            {"type": "subtitles", "cues": [_cue(0, 1)], "highlight_color": "#ffff00"},
            "elements.0.highlight_color",
            "words",
        ),
        (
            {"type": "subtitles", "source": "https://x.test/a.srt", "position": "left"},
            "elements.0.position",
            "bottom",
        ),
        (
            {"type": "subtitles", "source": "https://x.test/a.srt", "margin": "wide"},
            "elements.0.margin",
            "not a length",
        ),
        (
            {"type": "subtitles", "source": "https://x.test/a.srt", "font_size": "huge"},
            "elements.0.font_size",
            "not a font size",
        ),
        (
            {"type": "subtitles", "source": "https://x.test/a.srt", "duration": "media"},
            "elements.0",
            "no media",
        ),
        (
            {"type": "subtitles", "cues": [_cue(n, n + 1) for n in range(501)]},
            "elements.0.cues",
            "at most 500",
        ),
        (_too_many(), "elements.0.cues", f"at most {MAX_TEXT_DRAWS}"),
    ],
)
def test_bad_subtitles_are_refused_at_their_path(element: dict[str, Any], path: str, hint: str) -> None:
    errors = _errors(element)
    assert path in errors, errors
    assert hint.lower() in errors[path].lower(), errors
