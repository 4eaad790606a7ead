"""A script in, a narrated and captioned video out, through the real stack: the offline voice
speaks, its words are captioned on screen only while they are said (the highlight moving word to
word), the transcript is stored as SRT, WebVTT and JSON, and the offline recognizer hears the
rendered narration back."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from media.subtitles import parse_subtitles
from media.voices import transcribe
from schemas.settings import Settings
from tests.e2e.conftest import RunningStack
from tests.e2e.test_captions import _final
from tests.e2e.test_pipeline import download
from tests.media import frame_at, probe_output

pytestmark = pytest.mark.e2e

SCRIPT = (
    "Welcome to our channel. Today we will show you how to make a simple video in five minutes. "
    "Thank you for watching, and please share this video with your friends."
)
START = 1.0  # the narration begins a second in: nothing is captioned before it
YELLOW = np.array([255, 204, 0])
BAND = slice(150, 240)  # rows of the caption band (bottom), 320x240 output


def _spec() -> dict[str, Any]:
    return {
        "width": 320,
        "height": 240,
        "fps": 25,
        "background_color": "#203040",
        "elements": [
            {"type": "speech", "id": "narration", "text": SCRIPT, "time": START},
            {
                "type": "subtitles",
                "transcribe": "narration",
                "time": 0,
                "font_size": 20,
                "color": "#ffffff",
                "highlight_color": "#ffcc00",
                "stroke": None,
                "words_per_cue": 4,
            },
        ],
    }


def _ink(frame: np.ndarray) -> np.ndarray:
    """Caption pixels in the band: white or highlight yellow, not the dark background."""
    band = frame[BAND].astype(int)
    return band.max(axis=2) > 150


def _yellow_x(frame: np.ndarray) -> float | None:
    band = frame[BAND].astype(int)
    mask = (np.abs(band - YELLOW) < 60).all(axis=2)
    xs = np.nonzero(mask)[1]
    return float(xs.mean()) if xs.size > 20 else None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def test_a_script_is_spoken_captioned_and_heard_back(stack: RunningStack, tmp_path: Path) -> None:
    final = _final(stack, _spec())
    assert final["status"] == "completed", final
    result = final
    video = download(result["result_url"], tmp_path / "narrated.mp4")
    probed = probe_output(video)
    assert probed.audio_codec == "aac" and probed.width == 320
    assert probed.duration > START + 5  # as long as it speaks, from its start

    srt = download(result["captions_url"], tmp_path / "captions.srt").read_bytes()
    vtt = download(result["captions_vtt_url"], tmp_path / "captions.vtt").read_bytes()
    cues, vtt_cues = parse_subtitles(srt), parse_subtitles(vtt)
    assert vtt.startswith(b"WEBVTT")
    assert [(c.start, c.end, c.shown) for c in cues] == [(c.start, c.end, c.shown) for c in vtt_cues]
    assert len(cues) >= 6 and all(len(c.shown.split()) <= 4 for c in cues)
    assert cues[0].start >= START - 0.05  # on the output's clock
    said = [w["text"] for w in result["words"]]
    assert _words(" ".join(said)) == _words(SCRIPT)  # the script's own words, timed

    # each cue is on screen only while it is said; before the narration the band is empty
    assert not _ink(frame_at(video, START / 2)).any()
    for cue in cues:
        middle = (cue.start + cue.end) / 2
        assert _ink(frame_at(video, middle)).sum() > 30, cue
    gaps = [(a.end, b.start) for a, b in itertools.pairwise(cues) if b.start - a.end > 0.2]
    for end, start in gaps:
        assert not _ink(frame_at(video, (end + start) / 2)).any(), (end, start)
    assert probed.duration == pytest.approx(result["words"][-1]["end"], abs=1.0)  # it ends with the voice

    # the highlight moves word to word across a cue
    said_in = [[w for w in result["words"] if c.start - 1e-3 <= w["start"] <= c.end] for c in cues]
    spoken = next(words for words in said_in if len(words) >= 3)
    first = _yellow_x(frame_at(video, (spoken[0]["start"] + spoken[0]["end"]) / 2))
    last = _yellow_x(frame_at(video, (spoken[-1]["start"] + spoken[-1]["end"]) / 2))
    assert first is not None and last is not None and last > first + 20, (first, last)

    # the rendered narration, heard back by the offline recognizer
    heard = transcribe(video, "en", Settings(), None)
    expected, got = _words(SCRIPT), [w.text.lower() for w in heard.words]
    recall = sum(min(got.count(w), expected.count(w)) for w in set(expected)) / len(expected)
    assert recall >= 0.8, (recall, " ".join(got))
