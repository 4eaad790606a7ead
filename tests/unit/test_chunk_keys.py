"""A chunk's key changes with exactly what the chunk shows: every field of every element type that
reaches a pixel, every source byte and merge value, invalidates the chunks showing the element and
no other; the fields that cannot reach a pixel (and whole elements only heard) change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from api.merge import merge
from media.builders.kinds import kind_named, kinds, picture_neutral
from media.chunkkey import keys_for, sound_key
from media.chunks import Chunk, plan
from media.fonts import font_key
from media.probe import MediaInfo
from media.timeline import resolve_timeline
from schemas.elements import ELEMENT_MODELS
from schemas.spec import VideoSpec

ENGINE = "test-engine"
SHOWN = (4.0, 4.0)  # the element under test: chunks 2 and 3 of six 2 s chunks
FONT_URL = "https://example.com/font.ttf"
CLIP_INFO = MediaInfo(
    kind="video", format_name="mp4", width=320, height=240, duration=20.0, fps=12.0, has_video=True,
    has_audio=True, rotation=0, video_codec="h264", audio_codec="aac", pix_fmt="yuv420p",
    sample_aspect_ratio=None, frame_count=240,
)  # fmt: skip
PHOTO_INFO = MediaInfo(
    kind="image", format_name="png_pipe", width=320, height=240, duration=None, fps=None, has_video=True,
    has_audio=False, rotation=0, video_codec="png", audio_codec=None, pix_fmt="rgb24",
    sample_aspect_ratio=None, frame_count=None,
)  # fmt: skip
INFOS = {"video": CLIP_INFO, "audio": CLIP_INFO, "image": PHOTO_INFO}

BASES: dict[str, dict[str, Any]] = {
    "video": {"source": "https://example.com/a.mp4"},
    "image": {"source": "https://example.com/a.png"},
    "text": {"text": "Hello", "font_family": FONT_URL},
    "audio": {"source": "https://example.com/a.mp4"},
    "color": {"color": "#ff0000"},
    "composition": {"elements": [{"type": "color", "color": "#00ff00", "width": "50%", "height": "50%"}]},
    "shape": {"shape": "rectangle", "fill_color": "#ffffff", "width": 100, "height": 50},
    "subtitles": {"cues": [{"start": 0.5, "end": 3.0, "text": "one"}], "font_family": FONT_URL},
    "speech": {"text": "Hello there"},
}
# One changed value per field name (TYPED: per type where the name's values differ by type).
CHANGED: dict[str, Any] = {
    "id": "renamed",
    "volume": 0.3,
    "muted": True,
    "voiceover": True,
    "voice": "en-GB",
    "track": 3,
    "time": 6.0,
    "duration": 2.0,
    "fade_in": 0.5,
    "fade_out": 0.5,
    "x": 10,
    "y": 12,
    "width": "40%",
    "height": "40%",
    "x_anchor": "50%",
    "y_anchor": "50%",
    "scale": 1.25,
    "opacity": 0.5,
    "rotation": 15,
    "animations": [{"type": "fade", "time": "start", "duration": 0.5}],
    "transition": {"type": "crossfade", "duration": 0.5},
    "filters": [{"type": "sepia", "value": 0.5}],
    "color_preset": "warm",
    "fit_mode": "contain",
    "effect": "zoom-in",
    "chroma_key": {"color": "#00ff00"},
    "crop": {"width": "50%", "height": "50%"},
    "effect_scale": 1.3,
    "trim_start": 1.0,
    "trim_end": 9.0,
    "duration_mode": "loop",
    "speed": 1.5,
    "text": "Goodbye",
    "font_size": 60,
    "min_font_size": 10,
    "max_font_size": 80,
    "color": "#123456",
    "background_color": "#654321",
    "background_padding": 8,
    "stroke": {"color": "#ff00ff", "width": 3},
    "shadow": {"color": "#000000", "x": 4, "y": 4},
    "align": "left",
    "vertical_align": "top",
    "line_spacing": 5,
    "fill_color": "#00ffff",
    "fill_gradient": {"colors": ["#ff0000", "#0000ff"]},
    "border_radius": 12,
    "shape": "ellipse",
    "cues": [{"start": 0.5, "end": 3.0, "text": "two"}],
    "highlight_color": "#ffff00",
    "position": "top",
    "margin": "10%",
    "max_width": "70%",
    "transcribe": "narration",
    "language": "de",
    "words_per_cue": 3,
    "chars_per_cue": 20,
    "elements": [{"type": "color", "color": "#0000ff", "width": "50%", "height": "50%"}],
}
TYPED: dict[tuple[str, str], Any] = {
    ("text", "font_family"): "DejaVu Serif",
    ("subtitles", "font_family"): "DejaVu Serif",
    ("speech", "speed"): 1.5,
    ("speech", "text"): "Goodbye",
}
WORDS = {"start": 0.5, "end": 3.0, "text": "one two", "words": [
    {"text": "one", "start": 0.5, "end": 1.0}, {"text": "two", "start": 1.0, "end": 2.0}]}  # fmt: skip
AUTO = {"font_size": "auto", "width": 200, "height": 100}
RED_BLUE, RED_GREEN = ({"colors": ["#ff0000", end]} for end in ("#0000ff", "#00ff00"))
# Fields that only validate beside others: (fields before, fields after the change).
PAIRS: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {
    ("text", "min_font_size"): (AUTO, {**AUTO, "min_font_size": 10}),
    ("text", "max_font_size"): (AUTO, {**AUTO, "max_font_size": 80}),
    ("color", "fill_gradient"): (
        {"color": None, "fill_gradient": RED_BLUE}, {"color": None, "fill_gradient": RED_GREEN}),
    ("shape", "fill_gradient"): (
        {"fill_color": None, "fill_gradient": RED_BLUE}, {"fill_color": None, "fill_gradient": RED_GREEN}),
    ("subtitles", "highlight_color"): (
        {"cues": [WORDS], "highlight_color": "#ff0000"}, {"cues": [WORDS], "highlight_color": "#ffff00"}),
    ("subtitles", "transcribe"): (
        {"cues": None, "transcribe": "narration"}, {"cues": None, "transcribe": "other"}),
}  # fmt: skip
# Fields whose value is a file: the key holds the file's bytes' hash, not its URL.
FILE_FIELDS = {"source"}
SKIPPED = {"type"}


def spec_with(kind: str, fields: dict[str, Any]) -> VideoSpec:
    element = {"type": kind, "time": SHOWN[0], "duration": SHOWN[1], **BASES[kind], **fields}
    return VideoSpec.model_validate(
        {
            "width": 320,
            "height": 240,
            "fps": 12,
            "duration": 12,
            "elements": [
                {"type": "color", "color": "#202020", "track": 0},
                element,
                *(
                    {"type": "speech", "id": name, "text": f"{name} speaks"}
                    for name in ("narration", "other")
                ),
            ],
        }
    )


def digests_for(spec: VideoSpec, changed: int | None = None) -> dict[int, str]:
    """A content hash for every file the spec reads; `changed`: that source's bytes differ."""
    digests = {}
    for placed in spec.placed:
        for file in kind_named(placed.element.type).files(placed.element):
            where = font_key(placed.index) if file.font else placed.index
            digests[where] = f"bytes-{where}{'-changed' if where == changed else ''}"
    return digests


def keys(spec: VideoSpec, digests: dict[int, str] | None = None) -> list[str]:
    infos = {p.index: INFOS[p.element.type] for p in spec.placed if kind_named(p.element.type).has_media}
    timeline = resolve_timeline(spec, infos, max_duration=600)
    chunks = plan(spec, timeline.duration, 2.0)
    return keys_for(spec, timeline, digests or digests_for(spec), chunks, engine=ENGINE)


def showing(start: float, duration: float) -> set[int]:
    return {n for n in range(6) if n * 2.0 < start + duration and (n + 1) * 2.0 > start}


def changed_chunks(before: list[str], after: list[str]) -> set[int]:
    return {n for n, (a, b) in enumerate(zip(before, after, strict=True)) if a != b}


def value_for(kind: str, field: str) -> Any:
    return TYPED.get((kind, field), CHANGED.get(field))


CASES = [
    (kind, field)
    for kind, model in ELEMENT_MODELS.items()
    for field in model.model_fields
    if field not in SKIPPED | FILE_FIELDS
]


def test_every_field_of_every_type_has_a_case() -> None:
    missing = [
        f"{kind}.{field}"
        for kind, field in CASES
        if value_for(kind, field) is None and (kind, field) not in PAIRS
    ]
    assert not missing, f"give these fields a changed value in CHANGED or TYPED: {missing}"


@pytest.mark.parametrize(("kind", "field"), CASES)
def test_a_field_changes_exactly_the_chunks_that_show_the_element(kind: str, field: str) -> None:
    before_fields, after_fields = PAIRS.get((kind, field), ({}, {field: value_for(kind, field)}))
    before, after = spec_with(kind, before_fields), spec_with(kind, after_fields)
    drawn = kind_named(kind).builder is not None and field not in picture_neutral(ELEMENT_MODELS[kind])
    expected: set[int] = set()
    if drawn:
        moved = after.placed[1].element
        length = moved.duration if isinstance(moved.duration, float) else SHOWN[1]
        expected = showing(*SHOWN) | showing(moved.time, length)  # where it was and where it is
    assert changed_chunks(keys(before), keys(after)) == expected


@pytest.mark.parametrize("kind", sorted(ELEMENT_MODELS))
def test_a_changed_source_byte_changes_exactly_the_chunks_that_show_it(kind: str) -> None:
    spec = spec_with(kind, {})
    files = kind_named(kind).files(spec.placed[1].element)
    drawn = kind_named(kind).builder is not None
    for file in files:
        where = font_key(1) if file.font else 1
        after = keys(spec, digests_for(spec, changed=where))
        assert changed_chunks(keys(spec), after) == (showing(*SHOWN) if drawn else set())


def test_the_url_alone_does_not_count_only_the_bytes() -> None:
    spec = spec_with("video", {})
    moved = spec_with("video", {"source": "https://other.example.org/signed?sig=123"})
    assert keys(spec) == keys(moved)


def test_a_merge_value_changes_exactly_the_chunks_that_show_it() -> None:
    template = {
        "width": 320,
        "height": 240,
        "fps": 12,
        "duration": 12,
        "elements": [
            {"type": "image", "source": "https://example.com/photo.png", "track": 0},
            {"type": "text", "text": "Hello {{name}}", "time": 0, "duration": 3},
        ],
    }
    ada, bob = (VideoSpec.model_validate(merge(template, {"name": n}).document) for n in ("Ada", "Bob"))
    assert changed_chunks(keys(ada), keys(bob)) == {0, 1}


def test_an_element_outside_the_window_does_not_change_its_key() -> None:
    spec = spec_with("color", {})
    later = VideoSpec.model_validate(
        {
            **spec.model_dump(mode="json", exclude_unset=True),
            "elements": [
                *spec.model_dump(mode="json", exclude_unset=True)["elements"],
                {"type": "text", "text": "late", "time": 10, "duration": 2},
            ],
        }
    )
    assert changed_chunks(keys(spec), keys(later)) == {5}


def test_output_settings_and_the_engine_change_every_chunk() -> None:
    spec = spec_with("color", {})
    timeline = resolve_timeline(spec, {}, max_duration=600)
    chunks = [Chunk(0, 0.0, 2.0)]
    base = keys_for(spec, timeline, {}, chunks, engine=ENGINE)
    assert keys_for(spec, timeline, {}, chunks, engine="other") != base
    for change in ({"crf": 30}, {"background_color": "#ffffff"}, {"color_preset": "bw"}, {"quality": "high"}):
        other = spec.model_copy(update=change)
        assert keys_for(other, timeline, {}, chunks, engine=ENGINE) != base, change
    for neutral in ({"thumbnail": True}, {"loudness_normalization": True}):
        other = spec.model_copy(update=neutral)
        assert keys_for(other, timeline, {}, chunks, engine=ENGINE) == base, neutral


def test_tenants_share_a_chunk_only_for_byte_identical_sources() -> None:
    spec_a = spec_with("image", {"source": "https://tenant-a.example.com/private.png"})
    spec_b = spec_with("image", {"source": "https://tenant-b.example.com/private.png"})
    same = keys(spec_a, {1: "bytes-of-the-same-file"}) == keys(spec_b, {1: "bytes-of-the-same-file"})
    assert same
    differ = changed_chunks(keys(spec_a, {1: "a-private"}), keys(spec_b, {1: "b-private"}))
    assert differ == showing(*SHOWN)


def test_every_kind_is_covered() -> None:
    assert {kind.model for kind in kinds().values()} == set(ELEMENT_MODELS.values())


def sound_of(spec: VideoSpec) -> str:
    infos = {p.index: INFOS[p.element.type] for p in spec.placed if kind_named(p.element.type).has_media}
    timeline = resolve_timeline(spec, infos, max_duration=600)
    return sound_key(spec, timeline, digests_for(spec), engine=ENGINE)


@pytest.mark.parametrize(
    ("kind", "fields", "heard"),
    [
        ("text", {"text": "Goodbye"}, False),
        ("image", {"opacity": 0.5}, False),
        ("color", {"time": 5.0}, True),  # where visual clips lie decides which transitions join them
        ("color", {"transition": {"type": "crossfade", "duration": 0.5}}, True),
        ("audio", {"volume": 0.5}, True),
        ("audio", {"trim_start": 1.0}, True),
        ("video", {"muted": True}, True),
        ("speech", {"text": "Goodbye"}, True),
    ],
)
def test_the_sound_key_changes_with_what_is_heard(kind: str, fields: dict[str, Any], heard: bool) -> None:
    assert (sound_of(spec_with(kind, {})) != sound_of(spec_with(kind, fields))) is heard
