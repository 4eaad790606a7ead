"""The text to speak: made safe for the engine, cut into sentences, and split into the words
captions show.

SVOX Pico reads markup in its input: `<play file=...>` plays a local file into the speech,
`<genfile ...>` writes one, and `<speed>`, `<voice>`, `<ignore>` and others change what is said.
Its tokenizer (picotok.c) enters markup only at an ASCII `<`, so replacing `<` and `>` with
spaces leaves none; control characters go too (a NUL ends Pico's input).
"""

from __future__ import annotations

import re
import unicodedata

MAX_SENTENCE_CHARS = 400  # Pico reads its input in int16-sized pieces; long runs are cut at a pause
_SENTENCE_END = re.compile(r"(?<=[.!?…;:])\s+|\n+")
_PAUSE = re.compile(r"(?<=[,;:\u2013\u2014])\s+")  # comma, colons, en and em dashes
_WORD_CHARS = re.compile(r"[^\w']+")


def clean(text: str) -> str:
    """The text with no markup and no control characters, its whitespace collapsed."""
    kept = []
    for char in text:
        if char in "<>":
            kept.append(" ")
        elif char == "\n":
            kept.append("\n")
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            kept.append(" ")
        else:
            kept.append(char)
    lines = (" ".join(line.split()) for line in "".join(kept).split("\n"))
    return "\n".join(line for line in lines if line)


def sentences(text: str) -> list[str]:
    """Sentences (and lines) of a clean text, each at most MAX_SENTENCE_CHARS long."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if sentence.strip():
            out.extend(_cut(sentence.strip()))
    return out


def _cut(sentence: str) -> list[str]:
    """A long sentence in pieces ending at a pause (comma, dash) or else at a space."""
    pieces: list[str] = []
    while len(sentence) > MAX_SENTENCE_CHARS:
        head = sentence[:MAX_SENTENCE_CHARS]
        pauses = [m.start() for m in _PAUSE.finditer(head)]
        at = pauses[-1] if pauses else head.rfind(" ")
        if at <= 0:
            at = MAX_SENTENCE_CHARS
        pieces.append(sentence[:at].strip())
        sentence = sentence[at:].strip()
    if sentence:
        pieces.append(sentence)
    return pieces


def words(sentence: str) -> list[str]:
    """The words a caption shows, punctuation kept; a token of punctuation alone (a dash) joins
    the word before it, or the one after it at the start."""
    out: list[str] = []
    pending = ""
    for token in sentence.split():
        if not normal(token):
            if out:
                out[-1] = f"{out[-1]} {token}"
            else:
                pending = f"{pending}{token} "
            continue
        out.append(pending + token)
        pending = ""
    if pending and not out:
        return []
    return out


def normal(word: str) -> str:
    """A word as recognizers spell it: lower case, letters, digits and inner apostrophes."""
    return _WORD_CHARS.sub("", word.lower()).strip("'_")
