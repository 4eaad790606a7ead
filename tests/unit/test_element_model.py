"""The element model v2 at the door: each type with only its own fields, and bad motion refused
with the field path a user can act on."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.elements import AudioElement, CompositionElement, TextElement
from schemas.spec import VideoSpec


def _errors(*elements: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        VideoSpec.model_validate({"width": 320, "height": 240, "elements": list(elements)})
    return {".".join(str(p) for p in err["loc"]): err["msg"] for err in caught.value.errors()}


def test_each_type_parses_to_its_own_model() -> None:
    spec = VideoSpec.model_validate(
        {
            "width": 320,
            "height": 240,
            "elements": [
                {"type": "text", "text": "hi"},
                {"type": "audio", "source": "https://example.com/a.mp3"},
                {"type": "composition", "elements": [{"type": "color", "color": "#ff0000"}]},
            ],
        }
    )
    assert [type(e) for e in spec.elements] == [TextElement, AudioElement, CompositionElement]
    assert "text" not in AudioElement.model_fields and "font_size" not in AudioElement.model_fields


def test_a_field_of_another_type_is_named() -> None:
    errors = _errors({"type": "audio", "source": "https://example.com/a.mp3", "text": "x"})
    assert errors == {"elements.0.text": "a audio element has no field 'text'"}


@pytest.mark.parametrize(
    ("element", "path", "hint"),
    [
        (
            {"type": "color", "color": "#000000", "x": [{"time": 1, "value": 0}, {"time": 0.5, "value": 9}]},
            "elements.0.x.1.time",
            "keyframe times must increase",
        ),
        (
            {"type": "text", "text": "t", "font_size": [{"time": 0, "value": 3}]},
            "elements.0.font_size",
            "pixels",
        ),
        (
            {"type": "color", "color": "#000000", "opacity": [{"time": 0, "value": 0, "easing": "bounce"}]},
            "elements.0.opacity.0.easing",
            "linear",
        ),
        (
            {"type": "color", "color": "#000000", "animations": [{"type": "explode"}]},
            "elements.0.animations.0.type",
            "fade",
        ),
        (
            {"type": "image", "source": "https://example.com/i.png", "animations": [{"type": "typewriter"}]},
            "elements.0.animations.0.type",
            "text elements only",
        ),
        ({"type": "video", "source": "https://example.com/v.mp4", "speed": 8}, "elements.0.speed", "4"),
        ({"type": "color", "color": "#000000", "scale": "big"}, "elements.0.scale", "factor"),
        ({"type": "color", "color": "#000000", "effect": "zoom-in"}, "elements.0.effect", "Extra"),
        (
            {"type": "color", "color": "#000000", "filters": [{"type": "blur", "value": 500}]},
            "elements.0.filters.0",
            "between 0 and 100",
        ),
        (
            {"type": "color", "color": "#000000", "filters": [{"type": "emboss"}]},
            "elements.0.filters.0.type",
            "sepia",
        ),
        ({"type": "text", "text": "t", "chroma_key": {"color": "#00ff00"}}, "elements.0.chroma_key", "Extra"),
        (
            {"type": "image", "source": "https://example.com/i.png", "chroma_key": {"similarity": 3}},
            "elements.0.chroma_key.similarity",
            "less than or equal to 1",
        ),
        (
            {"type": "image", "source": "https://example.com/i.png", "crop": {"width": "half", "height": 10}},
            "elements.0.crop.width",
            "not a length",
        ),
        ({"type": "color", "color": "#000000", "color_preset": "sunny"}, "elements.0.color_preset", "warm"),
    ],
)
def test_bad_motion_is_refused_at_its_path(element: dict[str, Any], path: str, hint: str) -> None:
    errors = _errors(element)
    assert path in errors, errors
    assert hint.lower() in errors[path].lower() or (hint == "Extra" and "no field" in errors[path])


def test_nesting_is_limited_and_nested_elements_count() -> None:
    deep: dict[str, Any] = {"type": "color", "color": "#000000"}
    for _ in range(4):
        deep = {"type": "composition", "elements": [deep]}
    assert any("at most 3 levels" in message for message in _errors(deep).values())
    many = {"type": "composition", "elements": [{"type": "color", "color": "#000000"}] * 100}
    assert any("counting those inside compositions" in message for message in _errors(many).values())
    labels = VideoSpec.model_validate(
        {
            "width": 320,
            "height": 240,
            "elements": [{"type": "composition", "elements": [{"type": "text", "text": "t"}]}],
        }
    )
    assert labels.element_label(1) == "elements[0].elements[0]"
