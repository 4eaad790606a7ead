"""Timed words made into readable caption cues, and cues written as SRT and WebVTT.

A cue ends where a reader expects a break: at its word or character budget, after a sentence, or at
a pause. Each cue keeps its words' timings, so `highlight_color` karaoke runs on a transcript as on
typed cues.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from schemas.subtitles import Cue, Word

PAUSE_SECONDS = 0.7  # a silence this long starts a new cue
HOLD_SECONDS = 0.4  # a cue stays up this long after its last word, unless the next one comes sooner
SENTENCE_END = (".", "!", "?", "…", "。", "\uff01", "\uff1f")  # the last two: fullwidth ! and ?


@dataclass(frozen=True)
class TimedWord:
    """A word on some clock (seconds)."""

    text: str
    start: float
    end: float


def cues_from_words(words: Iterable[TimedWord], words_per_cue: int, chars_per_cue: int) -> list[Cue]:
    """Cues in time order without overlap, each word timed inside its cue."""
    groups: list[list[TimedWord]] = []
    for word in _clean(words):
        group = groups[-1] if groups else None
        if group is None or _breaks(group, word, words_per_cue, chars_per_cue):
            groups.append([word])
        else:
            group.append(word)
    cues = []
    for n, group in enumerate(groups):
        following = groups[n + 1][0].start if n + 1 < len(groups) else None
        end = group[-1].end + HOLD_SECONDS
        if following is not None:
            end = max(group[-1].end, min(end, following))
        cues.append(
            Cue(
                start=group[0].start,
                end=end,
                words=[Word(start=w.start, end=w.end, text=w.text) for w in group],
            )
        )
    return cues


def _clean(words: Iterable[TimedWord]) -> list[TimedWord]:
    """Words split at spaces, in time order, each ending after it starts and not before the last."""
    out: list[TimedWord] = []
    for word in sorted(words, key=lambda w: w.start):
        parts = word.text.split()
        if not parts:
            continue
        span = max(word.end - word.start, 0.02 * len(parts)) / len(parts)
        for n, part in enumerate(parts):
            start = max(word.start + n * span, out[-1].end if out else 0.0)
            out.append(TimedWord(part[:200], round(start, 3), round(max(start + 0.01, start + span), 3)))
    return out


def _breaks(group: Sequence[TimedWord], word: TimedWord, most_words: int, most_chars: int) -> bool:
    last = group[-1]
    chars = sum(len(w.text) for w in group) + len(group) + len(word.text)
    return (
        len(group) >= most_words
        or chars > most_chars
        or word.start - last.end >= PAUSE_SECONDS
        or last.text.endswith(SENTENCE_END)
    )


def shifted(cues: Sequence[Cue], offset: float) -> list[Cue]:
    """The same cues `offset` seconds later (on the output's clock rather than an element's)."""
    return [
        Cue(
            start=c.start + offset,
            end=c.end + offset,
            text=c.text,
            words=[Word(start=w.start + offset, end=w.end + offset, text=w.text) for w in c.words or []]
            or None,
        )
        for c in cues
    ]


def _stamp(seconds: float, separator: str) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(cues: Sequence[Cue]) -> str:
    blocks = [
        f"{n}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{_plain(c.shown)}\n"
        for n, c in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def to_webvtt(cues: Sequence[Cue]) -> str:
    blocks = [f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{_escaped(c.shown)}\n" for c in cues]
    return "WEBVTT\n\n" + "\n".join(blocks)


def _plain(text: str) -> str:
    """One cue's text with no blank line (which would end an SRT block early)."""
    return " ".join(text.split())


def _escaped(text: str) -> str:
    """WebVTT cue text is markup: a transcript's `<`, `>` and `&` are characters, not tags."""
    return _plain(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
