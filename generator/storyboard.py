"""A prompt as a storyboard: its sentences and phrases cut into scenes, timed to fill exactly the
asked duration at the style's pace. Pure text and arithmetic.

Phrases are split after sentence ends and clause marks (which stay with their words), then into
groups of at most the style's words on screen; a lone clause mark ('-', '(') is one word with its
neighbour and a phrase of marks alone is dropped, so no scene is left with nothing to show. There
are about `duration / scene_seconds` scenes (at least two once the video lasts two seconds, so
something changes): when the prompt has more groups, neighbours share a scene; when it has fewer,
the longest groups are halved, and when no group can be halved any more, the words come round
again. Scenes start on frame boundaries and
the last one ends at the duration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.styles import Style

MAX_SCENES = 12
MIN_SCENE_SECONDS = 1.0
_BREAKS = re.compile(r"(?<=[.!?;:,\u2026\u2013\u2014])\s+|\s+(?=[\u2013\u2014(])|\n+")
_DANGLING = ",;:\u2013\u2014-("  # clause marks a scene's text does not end with


@dataclass(frozen=True)
class Scene:
    text: str
    start: float
    length: float


def _is_mark(text: str) -> bool:
    """Nothing but clause marks (and spaces): what a scene's text drops from its end."""
    return not text.replace(" ", "").strip(_DANGLING)


def phrases(prompt: str) -> list[str]:
    """The prompt's sentences and clauses with their punctuation, whitespace collapsed."""
    parts = (" ".join(part.split()) for part in _BREAKS.split(prompt))
    return [part for part in parts if part and not _is_mark(part)]


def _words(phrase: str) -> list[str]:
    """The phrase's words, a lone clause mark joined to the word before it (or, first, after it)."""
    words: list[str] = []
    for word in phrase.split():
        if words and (_is_mark(word) or _is_mark(words[-1])):
            words[-1] += " " + word
        else:
            words.append(word)
    return words


def _groups(words: list[str], limit: int) -> list[list[str]]:
    """Words in balanced groups of at most `limit` (7 words by 3: 3, 2, 2)."""
    count = -(-len(words) // limit)
    size, extra = divmod(len(words), count)
    groups, at = [], 0
    for n in range(count):
        take = size + (1 if n < extra else 0)
        groups.append(words[at : at + take])
        at += take
    return groups


def _fit(texts: list[list[str]], scenes: int) -> list[list[str]]:
    """Exactly `scenes` texts: neighbours joined, or the longest halved, or all of them again."""
    texts = [t for t in texts if t]
    while len(texts) > scenes:
        n = min(range(len(texts) - 1), key=lambda i: len(texts[i]) + len(texts[i + 1]))
        texts[n : n + 2] = [texts[n] + texts[n + 1]]
    while len(texts) < scenes:
        n = max(range(len(texts)), key=lambda i: len(texts[i]))
        if len(texts[n]) < 2:
            return [texts[k % len(texts)] for k in range(scenes)]
        half = len(texts[n]) // 2 + len(texts[n]) % 2
        texts[n : n + 1] = [texts[n][:half], texts[n][half:]]
    return texts


def scene_count(duration: float, scene_seconds: float) -> int:
    wanted = round(duration / scene_seconds)
    floor = 2 if duration >= 2 * MIN_SCENE_SECONDS else 1
    return max(floor, min(wanted, MAX_SCENES, int(duration / MIN_SCENE_SECONDS)))


def storyboard(prompt: str, duration: float, style: Style, fps: float) -> list[Scene]:
    """Scenes covering [0, duration) back to back, each with its words; ValueError when the prompt
    has none (nothing but punctuation)."""
    groups = [group for phrase in phrases(prompt) for group in _groups(_words(phrase), style.max_words)]
    if not groups:
        raise ValueError("the prompt has no words to show, only clause marks")
    texts = _fit(groups, scene_count(duration, style.scene_seconds))
    starts = [round(n * duration / len(texts) * fps) / fps for n in range(len(texts))]
    ends = [*starts[1:], duration]
    return [
        Scene(" ".join(words).rstrip(_DANGLING + " ").strip(), start, end - start)
        for words, start, end in zip(texts, starts, ends, strict=True)
    ]
