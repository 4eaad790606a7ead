"""mp3, wav and m4a: the timeline's sound alone, of the right length and codec, with no picture
composed, decoded or stored."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from media.compiler import compile_render
from media.probe import probe
from schemas.errors import ErrorCode, JobError
from schemas.spec import VideoSpec
from tests.engine.conftest import Media, Renderer, audio_rms

CODECS = {"mp3": {"mp3", "mp3float"}, "wav": {"pcm_s16le"}, "m4a": {"aac"}}
CONTAINERS = {"mp3": "mp3", "wav": "wav", "m4a": "mov,mp4,m4a,3gp,3g2,mj2"}


def _spec(fmt: str, **output: object) -> dict[str, object]:
    """A picture (colour, text, a video whose sound plays from 1 s) and a tone for the first second."""
    elements = [
        {"type": "color", "color": "#ff0000", "duration": 2},
        {"type": "text", "text": "not heard", "track": 2},
        {"type": "audio", "source": "t", "duration": 1},
        {"type": "video", "source": "v", "time": 1, "duration": 1.5, "track": 3},
    ]
    return {"output_format": fmt, **output, "elements": elements}


def _sources(media: Media) -> dict[int, Path]:
    return {2: media.tone(seconds=2), 3: media.video("blue", seconds=2, tone=440)}


@pytest.mark.parametrize("fmt", ["mp3", "wav", "m4a"])
def test_audio_outputs_probe_as_sound_of_the_timeline_length(
    media: Media, render: Renderer, fmt: str
) -> None:
    out = render(_spec(fmt), _sources(media))
    info = probe(out.path)
    assert info.kind == "audio" and not info.has_video and info.format_name == CONTAINERS[fmt]
    assert info.audio_codec in CODECS[fmt]
    assert abs(out.duration_seconds - 2.5) <= 0.06, out.duration_seconds
    assert (out.width, out.height) == (None, None)
    with av.open(str(out.path)) as container:
        assert not container.streams.video and container.streams.audio[0].sample_rate == 48_000
    assert audio_rms(out.path, 0.2, 0.8) > 0.1, "the tone"
    assert audio_rms(out.path, 1.2, 1.8) > 0.03, "the video's own sound"


def test_no_picture_is_composed_for_an_audio_output(media: Media) -> None:
    sources = _sources(media)
    spec = VideoSpec.model_validate(_spec("mp3", quality="high"))
    infos = {index: probe(path) for index, path in sources.items()}
    compiled = compile_render(
        spec, infos, sources, Path("out.mp3"), work_dir=Path("."), threads=1, max_duration=60
    )
    argv = compiled.argv
    graph = argv[argv.index("-filter_complex") + 1]
    assert "overlay" not in graph and "color=" not in graph and "drawtext" not in graph
    assert argv.count("-map") == 1 and "-vn" not in argv  # only the mixed sound is mapped
    assert argv[argv.index("-c:a") + 1] == "libmp3lame" and argv[argv.index("-b:a") + 1] == "192k"


def test_a_range_of_an_audio_output_is_that_part_of_the_sound(media: Media, render: Renderer) -> None:
    out = render(_spec("wav", range={"start": 0.5, "duration": 1}), _sources(media))
    assert abs(out.duration_seconds - 1.0) <= 0.02
    assert audio_rms(out.path, 0.1, 0.4) > 0.1 and audio_rms(out.path, 0.6, 0.9) > 0.03


def test_sources_without_sound_fail_with_a_message_naming_them(media: Media, render: Renderer) -> None:
    spec = {"output_format": "m4a", "elements": [{"type": "video", "source": "v", "id": "intro"}]}
    with pytest.raises(JobError) as caught:
        render(spec, {0: media.video("blue", seconds=1, tone=None)})
    error = caught.value
    assert error.code == ErrorCode.INVALID_INPUT
    assert (
        error.message.startswith("m4a outputs are sound only")
        and "intro has no audio stream" in error.message
    )
    assert error.details["field"] == "elements"
