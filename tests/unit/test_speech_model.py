"""The speech element and captions that transcribe: validated with field paths, lowered for the
renderer, estimated before they are spoken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from media.builders.speech import lower_voices
from media.estimate import planned_duration
from schemas.elements import AudioElement, SubtitlesElement
from schemas.spec import VideoSpec


def spec(*elements: dict[str, object], **output: object) -> VideoSpec:
    return VideoSpec.model_validate({"width": 320, "height": 240, **output, "elements": list(elements)})


def locs(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[object, ...]]:
    return [tuple(err["loc"]) for err in exc.value.errors()]


def test_speech_fields() -> None:
    s = spec({"type": "speech", "text": "Hello there.", "voice": "en-GB", "language": "en-GB", "speed": 1.2})
    element = s.elements[0]
    assert element.type == "speech" and element.volume == 1.0 and not element.is_visual


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text", ""),
        ("text", "   "),
        ("speed", 3),
        ("voice", "en US; rm"),
        ("language", "english!"),
        ("source", "x"),
    ],
)
def test_speech_field_errors_have_paths(field: str, value: object) -> None:
    body = {"type": "speech", "text": "Hi.", field: value}
    with pytest.raises(ValidationError) as exc:
        spec(body)
    assert ("elements", 0, field) in locs(exc)


def test_transcribe_names_a_sibling_that_speaks() -> None:
    voice = {"type": "speech", "id": "voice", "text": "Hi."}
    ok = spec(voice, {"type": "subtitles", "transcribe": "voice", "highlight_color": "#ffcc00"})
    assert isinstance(ok.elements[1], SubtitlesElement)
    with pytest.raises(ValidationError) as exc:
        spec(voice, {"type": "subtitles", "transcribe": "nobody"})
    assert ("elements", 1, "transcribe") in locs(exc)
    assert "no element with id 'nobody'" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        spec({"type": "text", "id": "title", "text": "x"}, {"type": "subtitles", "transcribe": "title"})
    assert "a text element" in str(exc.value)
    nested = {"type": "composition", "elements": [{"type": "subtitles", "transcribe": "voice"}]}
    with pytest.raises(ValidationError) as exc:  # another composition's element is not in reach
        spec(voice, nested)
    assert ("elements", 1, "elements", 0, "transcribe") in locs(exc)


def test_subtitles_take_one_input() -> None:
    with pytest.raises(ValidationError) as exc:
        spec(
            {"type": "speech", "id": "v", "text": "Hi."},
            {"type": "subtitles", "transcribe": "v", "cues": [{"start": 0, "end": 1, "text": "x"}]},
        )
    assert ("elements", 1, "source") in locs(exc)


def test_speech_is_estimated_from_its_text() -> None:
    text = "word " * 28  # 140 characters: about ten seconds at a natural rate
    assert 9 <= planned_duration(spec({"type": "speech", "text": text})) <= 11
    assert planned_duration(spec({"type": "speech", "text": text, "speed": 2})) < 6


def test_audio_only_output_with_speech_is_audible() -> None:
    spec({"type": "speech", "text": "Hi."}, output_format="mp3", width=None, height=None)


def test_lowering_makes_speech_audio_and_transcripts_cues(tmp_path: Path) -> None:
    cues = [{"start": 0.5, "end": 1.5, "words": [{"start": 0.5, "end": 1.0, "text": "Hi"}]}]
    (tmp_path / "t.json").write_text(json.dumps(cues))
    s = spec(
        {"type": "composition", "elements": [
            {"type": "speech", "id": "v", "text": "Hi", "time": 1, "volume": 0.5, "voiceover": True},
            {"type": "subtitles", "transcribe": "v", "highlight_color": "#ffcc00", "words_per_cue": 3},
        ]},
    )  # fmt: skip
    lowered = lower_voices(s, {1: tmp_path / "v.wav", 2: tmp_path / "t.json"})
    audio, subtitles = lowered.placed[1].element, lowered.placed[2].element
    assert isinstance(audio, AudioElement) and audio.volume == 0.5 and audio.voiceover and audio.time == 1
    assert audio.duration is None  # as long as it speaks
    assert isinstance(subtitles, SubtitlesElement) and subtitles.transcribe is None
    assert subtitles.cues is not None and subtitles.cues[0].words is not None
    assert subtitles.highlight_color == "#ffcc00"
    assert lower_voices(spec({"type": "text", "text": "x"}), {}) is not None
