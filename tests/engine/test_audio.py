"""Sound: every audible element mixed with its timing, volume and fades; ducking; loudness."""

from __future__ import annotations

from tests.engine.conftest import Media, Renderer, audio_rms, stream_codecs


def _spec(*elements: dict, **output: object) -> dict:
    return {"width": 160, "height": 120, "fps": 10, **output, "elements": list(elements)}


def test_audio_starts_at_its_time_with_its_volume(media: Media, render: Renderer) -> None:
    tone = media.tone(seconds=1)
    out = render(
        _spec(
            {"type": "color", "color": "#000000", "duration": 3},
            {"type": "audio", "source": "a", "time": 0.5},
            {"type": "audio", "source": "b", "time": 2, "volume": 0.25},
        ),
        {1: tone, 2: tone},
    )
    silent, loud, gap, quiet = (
        audio_rms(out.path, a, b) for a, b in [(0, 0.4), (0.6, 1.4), (1.6, 1.9), (2.1, 2.9)]
    )
    assert silent < 0.005 and gap < 0.005
    assert loud > 0.15
    assert 0.15 < quiet / loud < 0.35  # volume 0.25 is about -12 dB


def test_video_sound_is_mixed_and_muted_is_not(media: Media, render: Renderer) -> None:
    video = media.video("blue", seconds=1, tone=440)
    out = render(
        _spec({"type": "video", "source": "v"}, {"type": "audio", "source": "t", "time": 1}),
        {0: video, 1: media.tone(seconds=1)},
    )
    assert audio_rms(out.path, 0.1, 0.9) > 0.03 and audio_rms(out.path, 1.1, 1.9) > 0.15
    muted = render(_spec({"type": "video", "source": "v", "muted": True}), {0: video})
    assert stream_codecs(muted.path) == ("h264", None)


def test_audio_fades(media: Media, render: Renderer) -> None:
    out = render(
        _spec({"type": "audio", "source": "t", "fade_in": 1, "fade_out": 0.5}), {0: media.tone(seconds=2)}
    )
    start, middle, full, end = (audio_rms(out.path, a, a + 0.1) for a in (0.0, 0.45, 1.2, 1.88))
    assert start < middle < full and end < full / 3


def test_music_ducks_under_voiceover(media: Media, render: Renderer) -> None:
    music = media.tone(freq=200, seconds=3)
    voice = media.tone(freq=3000, seconds=1)
    out = render(
        _spec(
            {"type": "audio", "source": "m"}, {"type": "audio", "source": "v", "time": 1, "voiceover": True}
        ),
        {0: music, 1: voice},
    )
    before, during = audio_rms(out.path, 0.3, 0.9), audio_rms(out.path, 1.3, 1.9)
    plain = render(
        _spec({"type": "audio", "source": "m"}, {"type": "audio", "source": "v", "time": 1}),
        {0: music, 1: voice},
    )
    assert before > 0.15
    assert during < audio_rms(plain.path, 1.3, 1.9) * 0.85  # music pushed down while the voice speaks


def test_music_goes_on_after_the_voiceover_ends(media: Media, render: Renderer) -> None:
    music = media.tone(freq=200, seconds=3)
    voice = media.tone(freq=3000, seconds=1)
    out = render(
        _spec(
            {"type": "audio", "source": "m"}, {"type": "audio", "source": "v", "time": 0.5, "voiceover": True}
        ),
        {0: music, 1: voice},
    )
    assert audio_rms(out.path, 2.3, 2.9) > 0.15, "the music is back at full level, not cut with the voice"


def test_loudness_normalization(media: Media, render: Renderer) -> None:
    quiet = media.tone(seconds=2, volume=0.16)
    out = render(_spec({"type": "audio", "source": "q"}, loudness_normalization=True), {0: quiet})
    assert (
        audio_rms(out.path, 0.5, 1.5)
        > 0.05
        > audio_rms(render(_spec({"type": "audio", "source": "q"}), {0: quiet}).path, 0.5, 1.5)
    )


def test_sound_follows_a_visual_transition(media: Media, render: Renderer) -> None:
    """The outgoing clip's sound fades out over the crossfade and stops when it ends."""
    video = media.video("blue", seconds=2, tone=440)
    out = render(
        _spec(
            {"type": "video", "source": "v", "duration": 2},
            {
                "type": "color",
                "color": "#ff0000",
                "time": 1,
                "duration": 1.5,
                "transition": {"type": "crossfade", "duration": 0.5},
            },
        ),
        {0: video},
    )
    full, fading, after = (audio_rms(out.path, a, b) for a, b in [(0.2, 0.8), (1.25, 1.45), (1.6, 2.4)])
    assert full > 0.03 and fading < full * 0.8 and after < 0.005


def test_looped_audio_keeps_playing(media: Media, render: Renderer) -> None:
    out = render(
        _spec({"type": "audio", "source": "t", "duration": 2, "duration_mode": "loop"}, duration=2),
        {0: media.tone(seconds=0.5)},
    )
    assert audio_rms(out.path, 1.2, 1.8) > 0.15
