"""The preview routes' bodies, and where a preview frame falls: its size and its place on the
output's frame grid."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from media.preview import frame_index, frame_size
from schemas.preview import PreviewClipRequest, PreviewFrameRequest
from schemas.spec import VideoSpec

SPEC: dict[str, Any] = {"width": 1920, "height": 1080, "elements": [{"type": "text", "text": "hi"}]}


def _fields(model: type[Any], body: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return [".".join(map(str, error["loc"])) for error in caught.value.errors()]


def test_a_frame_request_defaults_to_a_jpeg_of_the_whole_spec() -> None:
    body = PreviewFrameRequest.model_validate({"spec": SPEC, "time": 1.5})
    assert (body.format, body.width, body.merge) == ("jpg", None, None)
    assert body.spec == SPEC


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"spec": SPEC, "time": -1}, "time"),
        ({"spec": SPEC, "time": 1, "format": "gif"}, "format"),
        ({"spec": SPEC, "time": 1, "width": 8}, "width"),
        ({"spec": SPEC, "time": 1, "merge": {"name": [1]}}, "merge.name"),
        ({"spec": SPEC, "time": 1, "colour": "red"}, "colour"),
        ({"time": 1}, "spec"),
    ],
)
def test_frame_requests_are_refused_at_the_field(body: dict[str, Any], field: str) -> None:
    assert any(path.startswith(field) for path in _fields(PreviewFrameRequest, body))


@pytest.mark.parametrize(("duration", "ok"), [(10, True), (0.5, True), (0, False), (10.5, False)])
def test_a_clip_lasts_at_most_ten_seconds(duration: float, ok: bool) -> None:
    body = {"spec": SPEC, "start": 2, "duration": duration}
    if ok:
        assert PreviewClipRequest.model_validate(body).duration == duration
    else:
        assert _fields(PreviewClipRequest, body) == ["duration"]


@pytest.mark.parametrize(
    ("size", "width", "expected"),
    [
        ((1920, 1080), None, (1280, 720)),  # at most 1280 by default
        ((640, 360), None, (640, 360)),  # never larger than the output
        ((640, 360), 2000, (640, 360)),
        ((1920, 1080), 853, (852, 480)),  # even, the aspect kept
        ((1080, 1920), None, (1080, 1920)),
        ((1080, 1920), 301, (300, 534)),
    ],
)
def test_the_frame_size_follows_the_output(
    size: tuple[int, int], width: int | None, expected: tuple[int, int]
) -> None:
    spec = VideoSpec.model_validate({**SPEC, "width": size[0], "height": size[1]})
    assert frame_size(spec, width) == expected


@pytest.mark.parametrize(
    ("time", "expected_frame"),
    [
        (0.0, 0),
        (1.0, 30),  # on the grid: that frame
        (1.0 - 1e-9, 30),  # float noise is not the frame before
        (1.02, 30),  # between two frames: the one shown
        (1.0334, 31),
        (9.99, 299),
        (10.0, 299),  # the end: the last frame
        (60.0, 299),
    ],
)
def test_a_time_falls_on_the_frame_the_video_shows(time: float, expected_frame: int) -> None:
    assert frame_index(time, 30.0, 10.0) == expected_frame
