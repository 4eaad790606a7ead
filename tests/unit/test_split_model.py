"""Split animations at the door: text only, presets that can run per part, bounded stagger and
part count, each refused at its field path with its own error type."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.elements import TextElement
from schemas.spec import VideoSpec


def _spec(*elements: dict[str, Any]) -> VideoSpec:
    return VideoSpec.model_validate({"width": 320, "height": 240, "elements": list(elements)})


def _errors(*elements: dict[str, Any]) -> dict[str, tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        _spec(*elements)
    return {".".join(str(p) for p in err["loc"]): (err["type"], err["msg"]) for err in caught.value.errors()}


def test_a_split_animation_is_read_with_its_stagger() -> None:
    spec = _spec(
        {"type": "text", "text": "a b", "animations": [{"type": "fade", "split": "word", "stagger": 0.2}]}
    )
    element = spec.elements[0]
    assert isinstance(element, TextElement)
    assert (element.animations[0].split, element.animations[0].stagger) == ("word", 0.2)


@pytest.mark.parametrize(
    ("element", "path", "code", "hint"),
    [
        (
            {"type": "color", "color": "#000000", "animations": [{"type": "fade", "split": "word"}]},
            "elements.0.animations.0.split",
            "split_not_text",
            "text only",
        ),
        (
            {"type": "text", "text": "a b", "animations": [{"type": "spin", "split": "word"}]},
            "elements.0.animations.0.split",
            "split_preset",
            "fade, slide, scale",
        ),
        (
            {"type": "text", "text": "a b", "animations": [{"type": "fade", "stagger": 0.2}]},
            "elements.0.animations.0.stagger",
            "stagger_without_split",
            "split",
        ),
        (
            {"type": "text", "text": "a b", "animations": [{"type": "fade", "split": "word", "stagger": 11}]},
            "elements.0.animations.0.stagger",
            "less_than_equal",
            "10",
        ),
        (
            {"type": "text", "text": "a", "animations": [{"type": "fade", "split": "sentence"}]},
            "elements.0.animations.0.split",
            "literal_error",
            "'letter'",
        ),
        (
            {
                "type": "text",
                "text": "a b",
                "animations": [{"type": "typewriter"}, {"type": "fade", "split": "word"}],
            },
            "elements.0.animations.1.split",
            "split_with_typewriter",
            "typewriter",
        ),
        (
            {"type": "text", "text": "x" * 201, "animations": [{"type": "fade", "split": "letter"}]},
            "elements.0.animations.0.split",
            "split_too_many_parts",
            "201 letters; at most 200",
        ),
    ],
)
def test_bad_splits_are_refused_at_their_path(
    element: dict[str, Any], path: str, code: str, hint: str
) -> None:
    errors = _errors(element)
    assert path in errors, errors
    assert errors[path][0] == code and hint in errors[path][1], errors[path]


def test_a_dumped_animation_reads_back() -> None:
    """A spec travels through Kafka dumped with its defaults: the default stagger is no mistake."""
    body = {"type": "text", "text": "a b", "animations": [{"type": "fade"}]}
    spec = VideoSpec.model_validate({"width": 320, "height": 240, "elements": [body]})
    again = VideoSpec.model_validate(spec.model_dump(mode="json"))
    assert again.elements[0].animations[0].stagger == spec.elements[0].animations[0].stagger
