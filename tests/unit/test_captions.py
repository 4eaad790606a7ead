"""Timed words grouped into cues a person can read, written as SRT and WebVTT."""

from __future__ import annotations

import itertools

from media.captions import TimedWord, cues_from_words, to_srt, to_webvtt


def words(text: str, start: float = 0.0, step: float = 0.4) -> list[TimedWord]:
    return [TimedWord(w, start + n * step, start + n * step + 0.3) for n, w in enumerate(text.split())]


def test_cues_break_at_budget_sentence_and_pause() -> None:
    said = words("one two three four five six. seven eight") + words("nine ten", start=10)
    cues = cues_from_words(said, words_per_cue=4, chars_per_cue=42)
    assert [c.shown for c in cues] == ["one two three four", "five six.", "seven eight", "nine ten"]
    for earlier, later in itertools.pairwise(cues):
        assert earlier.end <= later.start
    assert all(c.words and c.start == c.words[0].start for c in cues)


def test_cues_break_at_characters() -> None:
    cues = cues_from_words(words("aaaaaaaaaa bbbbbbbbbb cccccccccc"), words_per_cue=10, chars_per_cue=22)
    assert [c.shown for c in cues] == ["aaaaaaaaaa bbbbbbbbbb", "cccccccccc"]


def test_words_with_spaces_are_split_and_times_increase() -> None:
    cues = cues_from_words([TimedWord("New York", 1.0, 2.0), TimedWord("city", 1.5, 2.5)], 7, 42)
    shown = [w for c in cues for w in c.words or []]
    assert [w.text for w in shown] == ["New", "York", "city"]
    assert all(a.end <= b.start + 1e-9 for a, b in itertools.pairwise(shown))


def test_srt_and_webvtt() -> None:
    cues = cues_from_words(words("Tom & <b>Jerry</b> run", start=3661.5), 7, 42)
    srt = to_srt(cues)
    assert srt.startswith("1\n01:01:01,500 --> 01:01:")
    vtt = to_webvtt(cues)
    assert vtt.startswith("WEBVTT\n\n01:01:01.500 --> ")
    assert "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt; run" in vtt
    assert "<b>" not in vtt
