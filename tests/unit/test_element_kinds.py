"""Every element type has a kind (media.builders.kinds), and no field of an element model can be
dropped by a stream copy unnoticed: each is declared neutral or handled by its kind's StreamCopy."""

from __future__ import annotations

from pydantic import Field

from media.builders.kinds import Handled, StreamCopy, kind_named, kinds
from media.timeline import Clip
from schemas.elements import ELEMENT_MODELS, ElementBase, VideoElement

CLIP = "https://example.com/clip.mp4"


def test_every_element_model_has_its_kind() -> None:
    assert set(kinds()) == set(ELEMENT_MODELS.values())
    for name, model in ELEMENT_MODELS.items():
        assert kind_named(name).model is model


def undeclared(model: type[ElementBase], copy: StreamCopy | None) -> list[str]:
    """Fields a remux could drop: every field of a kind that is stream copied must be declared."""
    return [] if copy is None else copy.undeclared(model)


def test_every_field_of_every_element_model_is_neutral_or_handled() -> None:
    missing = [
        f"{name}.{field}"
        for name, model in ELEMENT_MODELS.items()
        for field in undeclared(model, kind_named(name).stream_copy)
    ]
    assert not missing, (
        "declare these fields Neutral or Handled in their kind's StreamCopy "
        f"(media/builders/<type>.py), or a stream copy drops them: {', '.join(missing)}"
    )


def test_no_stream_copy_declaration_names_a_field_the_model_lacks() -> None:
    for name, model in ELEMENT_MODELS.items():
        copy = kind_named(name).stream_copy
        stale = set(copy.fields) - set(model.model_fields) if copy else set()
        assert not stale, f"{name}: {sorted(stale)}"


def test_a_new_field_is_reported_until_declared() -> None:
    class Blurred(VideoElement):
        blur: float = Field(0.0, description="A field added later.")

    copy = kind_named("video").stream_copy
    assert copy is not None
    assert copy.undeclared(Blurred) == ["blur"]


def clip(element: VideoElement, *, start: float = 0.0, source_start: float = 0.0, end: float = 5.0) -> Clip:
    return Clip(0, element, None, start, end, source_start, media_length=5.0)


def video(**fields: object) -> VideoElement:
    return VideoElement.model_validate({"type": "video", "source": CLIP, **fields})


def test_a_plain_video_allows_a_stream_copy_and_each_handled_field_can_refuse_it() -> None:
    copy = kind_named("video").stream_copy
    assert copy is not None
    assert copy.allows(clip(video()))
    refused = {
        "time": clip(video(), start=1.0),
        "trim_start": clip(video(), source_start=1.0),
        "duration": clip(video(), end=4.0),
        "trim_end": clip(video(trim_end=3)),
        "duration_mode": clip(video(duration_mode="loop")),
        "speed": clip(video(speed=2)),
        "volume": clip(video(volume=0.5)),
        "fade_in": clip(video(fade_in=1)),
        "fade_out": clip(video(fade_out=1)),
        "x": clip(video(x=10)),
        "y": clip(video(y=10)),
        "width": clip(video(width="50%")),
        "height": clip(video(height="50%")),
        "scale": clip(video(scale=2)),
        "opacity": clip(video(opacity=0.5)),
        "rotation": clip(video(rotation=90)),
        "animations": clip(video(animations=[{"type": "fade"}])),
        "filters": clip(video(filters=[{"type": "greyscale"}])),
        "color_preset": clip(video(color_preset="warm")),
        "effect": clip(video(effect="zoom-in")),
        "chroma_key": clip(video(chroma_key={"color": "#00ff00"})),
        "crop": clip(video(crop={"x": 0, "y": 0, "width": 10, "height": 10})),
    }
    for field, refusing in refused.items():
        assert not copy.allows(refusing), field
    handled = {name for name, stance in copy.fields.items() if isinstance(stance, Handled)}
    assert handled - set(refused) == {"muted"}  # a muted source is remuxed without its audio stream
    assert not copy.keeps_sound(video(muted=True)) and copy.keeps_sound(video())
