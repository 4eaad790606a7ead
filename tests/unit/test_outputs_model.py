"""Audio-only formats, poster and thumbnail at the door: what each output can carry, refused at the
field to change with a message that says what to do."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from pydantic import ValidationError

from media.estimate import estimate_seconds
from schemas.outputs import Poster, Thumbnail
from schemas.spec import VideoSpec
from tests.unit import test_api_errors

TONE = {"type": "audio", "source": "https://example.com/a.mp3"}
CLIP = {"type": "video", "source": "https://example.com/v.mp4"}
client = test_api_errors.client  # the API without Kafka, as the error-envelope tests use it


def _errors(**spec: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        VideoSpec.model_validate(spec)
    return {".".join(str(p) for p in err["loc"]): err["msg"] for err in caught.value.errors()}


@pytest.mark.parametrize("fmt", ["mp3", "wav", "m4a"])
def test_an_audio_output_needs_no_size_and_is_estimated_by_its_length(fmt: str) -> None:
    spec = VideoSpec.model_validate({"output_format": fmt, "elements": [{**TONE, "duration": 60}]})
    assert spec.audio_only and spec.width is None
    assert estimate_seconds(spec) < estimate_seconds(
        VideoSpec.model_validate({"width": 1280, "height": 720, "elements": [{**TONE, "duration": 60}]})
    )


@pytest.mark.parametrize(
    "elements",
    [
        [{"type": "text", "text": "no sound"}],
        [{**TONE, "muted": True}, {**CLIP, "volume": 0}],
        [{"type": "composition", "elements": [{**CLIP, "muted": True}]}],
    ],
)
def test_an_audio_output_with_nothing_audible_is_refused(elements: list[dict[str, Any]]) -> None:
    errors = _errors(output_format="mp3", elements=elements)
    assert list(errors) == ["elements"]
    assert "mp3 outputs are sound only" in errors["elements"] and "not muted" in errors["elements"]


def test_a_nested_audible_element_is_enough() -> None:
    spec = {"output_format": "wav", "elements": [{"type": "composition", "elements": [CLIP]}]}
    assert VideoSpec.model_validate(spec).audio_only


def test_pictures_of_an_audio_output_are_refused_each_at_its_field() -> None:
    errors = _errors(
        output_format="m4a",
        poster={"time": 1},
        thumbnail=True,
        preview=True,
        color_preset="warm",
        elements=[TONE],
    )
    assert sorted(errors) == ["color_preset", "poster", "preview", "thumbnail"]
    assert errors["poster"] == "m4a outputs have no picture; remove poster or choose a video format"


@pytest.mark.parametrize("fmt", ["jpg", "png"])
def test_a_still_output_has_no_poster_or_thumbnail(fmt: str) -> None:
    errors = _errors(
        output_format=fmt, width=320, height=240, poster={}, thumbnail={"width": 100}, elements=[TONE]
    )
    assert errors == {
        "poster": f"a {fmt} output is a still already; poster is for videos",
        "thumbnail": f"a {fmt} output is a still already; thumbnail is for videos",
    }


@pytest.mark.parametrize(
    ("thumbnail", "path", "hint"),
    [
        ({"width": 400}, "thumbnail.width", "wider than the output (320 px)"),
        ({"width": 8}, "thumbnail.width", "greater than or equal to 16"),
        ({"time": -1}, "thumbnail.time", "greater than or equal to 0"),
        ({"size": 100}, "thumbnail.size", "Extra inputs"),
    ],
)
def test_a_bad_thumbnail_is_named_at_its_field(thumbnail: dict[str, Any], path: str, hint: str) -> None:
    errors = _errors(width=320, height=240, thumbnail=thumbnail, elements=[TONE])
    assert list(errors) == [path] and hint in errors[path], errors


def test_poster_and_thumbnail_parse_with_their_defaults() -> None:
    spec = VideoSpec.model_validate(
        {"width": 320, "height": 240, "poster": {}, "thumbnail": {"width": 160}, "elements": [TONE]}
    )
    assert spec.poster == Poster(time=0.0) and spec.thumbnail == Thumbnail(time=None, width=160)
    assert VideoSpec.model_validate({**spec.model_dump(), "thumbnail": True}).thumbnail is True


def test_the_api_answers_400_naming_the_field(client: TestClient[Any]) -> None:
    body = {"output_format": "mp3", "poster": {"time": 1.5}, "elements": [TONE]}
    response = client.post("/api/v1/videocreate", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    assert [f["field"] for f in error["details"]["fields"]] == ["poster"]
    assert error["message"].startswith("invalid request: poster: mp3 outputs have no picture")
