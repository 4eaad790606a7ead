"""Times for the words of a script, from what a recognizer heard in its audio.

The recognizer's words are matched to the script's (difflib, on normalised spellings); a matched
script word takes the heard word's times, and the words between two matches share the time
between them by their length in characters. Where nothing can be heard (a language the offline
recognizer does not know), all the words share the voiced span that way.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from media.voices.model import Word
from media.voices.script import normal


def align(script: Sequence[str], heard: Sequence[Word], start: float, end: float) -> list[Word]:
    """The script's words with times within [start, end], in order, each within its neighbours."""
    if not script:
        return []
    matcher = difflib.SequenceMatcher(
        a=[normal(w) for w in script], b=[normal(w.text) for w in heard], autojunk=False
    )
    anchors: dict[int, Word] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            anchors[block.a + k] = heard[block.b + k]
    times: list[tuple[float, float] | None] = [
        (anchors[i].start, anchors[i].end) if i in anchors else None for i in range(len(script))
    ]
    i = 0
    while i < len(script):
        if times[i] is not None:
            i += 1
            continue
        j = i
        while j < len(script) and times[j] is None:
            j += 1
        before = times[i - 1] if i > 0 else None
        after = times[j] if j < len(script) else None
        gap_start = before[1] if before is not None else start
        gap_end = after[0] if after is not None else end
        times[i:j] = _share(script[i:j], gap_start, max(gap_start, gap_end))
        i = j
    words: list[Word] = []
    last = start
    for text, span in zip(script, times, strict=True):
        assert span is not None
        begin = min(max(span[0], last, start), end)
        words.append(Word(text, round(begin, 3), round(min(max(span[1], begin), end), 3)))
        last = begin
    return words


def proportional(script: Sequence[str], start: float, end: float) -> list[Word]:
    """The words sharing [start, end] by their length in characters."""
    return [
        Word(text, round(a, 3), round(b, 3))
        for text, (a, b) in zip(script, _share(script, start, end), strict=True)
    ]


def _share(script: Sequence[str], start: float, end: float) -> list[tuple[float, float]]:
    """Consecutive spans covering [start, end], one per word, as long as its characters (plus one
    for the pause after it)."""
    weights = [len(normal(w)) + 1 for w in script]
    total = sum(weights) or 1
    spans, at = [], start
    for weight in weights:
        step = (end - start) * weight / total
        spans.append((at, at + step))
        at += step
    return spans
