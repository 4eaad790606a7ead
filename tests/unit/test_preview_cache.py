"""The preview cache: bounded in bytes, least recently used dropped first; and its key, which
follows what the frame shows, not how the spec is written."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from media.preview import (
    FrameCache,
    Prepared,
    clip_key,
    clip_spec,
    frame_key,
    frame_size,
    frame_spec,
    prepare,
)
from schemas.settings import Settings
from schemas.spec import VideoSpec

SETTINGS = Settings()
MOVING = [{"time": 0, "value": 0}, {"time": 10, "value": 500}]


def test_the_cache_drops_the_least_recently_used_past_its_bytes() -> None:
    cache = FrameCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # now b is the oldest
    cache.put("c", b"1234")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1234", None, b"1234")
    assert cache.size == 8 and len(cache) == 2


def test_the_cache_replaces_a_key_and_skips_what_cannot_fit() -> None:
    cache = FrameCache(max_bytes=10)
    cache.put("a", b"12345678")
    cache.put("a", b"12")
    assert cache.size == 2
    cache.put("huge", b"x" * 11)
    assert cache.get("huge") is None and cache.get("a") == b"12"
    off = FrameCache(max_bytes=0)
    off.put("a", b"1")
    assert off.get("a") is None and off.size == 0


def _spec(**changes: Any) -> dict[str, Any]:
    title = {
        "type": "text",
        "text": "Title",
        "x": copy.deepcopy(MOVING),
        "y": 20,
        "font_size": 40,
        "duration": 10,
    }
    later = {"type": "color", "color": "#ff0000", "time": 12, "duration": 2, "width": 50, "height": 50}
    spec: dict[str, Any] = {"width": 640, "height": 360, "fps": 25, "elements": [title, later]}
    for path, value in changes.items():
        node: Any = spec
        *parents, last = path.split("__")
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value
    return spec


def _prepared(spec: dict[str, Any]) -> Prepared:
    return prepare(VideoSpec.model_validate(spec), {}, SETTINGS)


def _frame_key(spec: dict[str, Any], time: float, fmt: str = "jpg", width: int | None = None) -> str:
    prepared = _prepared(spec)
    still, frame = frame_spec(prepared, time, fmt)  # type: ignore[arg-type]
    return frame_key(prepared, still, frame, frame_size(prepared.spec, width))


def test_the_key_stays_when_nothing_shown_changes() -> None:
    key = _frame_key(_spec(), 3.0)
    assert _frame_key(_spec(), 3.01) == key  # the same frame of the grid
    assert _frame_key(_spec(elements__1__color="#00ff00"), 3.0) == key  # an element later on
    assert _frame_key(_spec(thumbnail=True), 3.0) == key  # stills beside the video
    assert _frame_key(_spec(elements__0__id="title"), 3.0) == key  # a name draws nothing


@pytest.mark.parametrize(
    "changed",
    [
        {"elements__0__text": "Other"},
        {"elements__0__y": 21},
        {"elements__0__x__1__value": 400},  # the keyframe moves the title elsewhere at 3 s
        {"background_color": "#112233"},
        {"elements__1__time": 2},  # the red square now shows at 3 s
    ],
)
def test_the_key_changes_with_what_the_frame_shows(changed: dict[str, Any]) -> None:
    assert _frame_key(_spec(**changed), 3.0) != _frame_key(_spec(), 3.0)


def test_the_key_changes_with_the_frame_format_and_size() -> None:
    key = _frame_key(_spec(), 3.0)
    others = {
        _frame_key(_spec(), 3.04),  # the next frame: the title has moved
        _frame_key(_spec(), 3.0, fmt="png"),
        _frame_key(_spec(), 3.0, width=320),
    }
    assert key not in others and len(others) == 3


def test_a_frame_is_a_still_over_one_frame_of_the_full_render() -> None:
    prepared = _prepared({**_spec(), "poster": {"time": 1}, "preview": True})
    still, frame = frame_spec(prepared, 3.01, "png")
    assert (frame.start, frame.duration) == (pytest.approx(3.0), pytest.approx(0.04))
    assert still.range is not None
    assert (still.range.start, still.range.duration) == (pytest.approx(3.0), pytest.approx(0.04))
    assert still.snapshot_time == 0.0
    assert still.duration == pytest.approx(14.0)  # pinned to the full render's length
    assert (still.output_format, still.poster, still.preview) == ("png", None, False)


def test_a_clip_is_a_draft_of_its_window_and_keyed_by_it() -> None:
    prepared = _prepared(_spec())
    clip, window = clip_spec(prepared, 12.5, 10)
    assert clip.preview and clip.output_format == "mp4"
    assert (window.start, window.duration) == (
        pytest.approx(12.4667, abs=1e-3),
        pytest.approx(1.5333, abs=1e-3),
    )
    assert clip_key(prepared, clip, window) != clip_key(prepared, *clip_spec(prepared, 11, 3))
    with pytest.raises(Exception, match="past the end"):
        clip_spec(prepared, 14, 1)
