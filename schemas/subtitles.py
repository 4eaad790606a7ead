"""Cues of a `subtitles` element: inline cues with optional word timings, and the limits on them.

Times are seconds from the element's own start, like keyframes. Inline cues are checked here at
validation; cues read from an SRT or WebVTT `source` are checked by media.subtitles when the file
is fetched and again when it is rendered, against the same limits.
"""

from __future__ import annotations

import itertools

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from schemas.motion import raise_at

MAX_CUES = 500
MAX_WORDS_PER_CUE = 50
MAX_TEXT_DRAWS = 600  # drawtext filters per element: each costs FFmpeg about 0.4 MB
MAX_CUE_CHARS = 1000
MAX_SECONDS = 86_400  # a day: no cue or word starts or ends later (from the element's start)


def _error(loc: tuple[int | str, ...], kind: str, message: str, value: object) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)


class Word(BaseModel):
    """One spoken word of a cue: `highlight_color` colours it from `start` until `end`."""

    model_config = ConfigDict(extra="forbid")

    start: float = Field(..., ge=0, le=MAX_SECONDS, description="Seconds from the element's start.")
    end: float = Field(..., gt=0, le=MAX_SECONDS)
    text: str = Field(..., min_length=1, max_length=200, pattern=r"^\S+$", description="One word, no spaces.")


class Cue(BaseModel):
    """Text shown from `start` until `end`, verbatim: markup in it is never interpreted."""

    model_config = ConfigDict(extra="forbid")

    start: float = Field(..., ge=0, le=MAX_SECONDS, description="Seconds from the element's start.")
    end: float = Field(..., gt=0, le=MAX_SECONDS)
    text: str | None = Field(
        None, max_length=MAX_CUE_CHARS, description="The cue's text; omitted: its words joined by spaces."
    )
    words: list[Word] | None = Field(
        None,
        max_length=MAX_WORDS_PER_CUE,
        description="Word timings in order, spelling the text; with highlight_color, karaoke.",
    )

    @model_validator(mode="after")
    def _timing(self) -> Cue:
        errors: list[InitErrorDetails] = []
        if self.end <= self.start:
            errors.append(_error(("end",), "cue_time", "a cue must end after it starts", self.end))
        if self.text is None and not self.words:
            errors.append(_error(("text",), "cue_text", "a cue needs text or words", None))
        for n, word in enumerate(self.words or []):
            if word.end <= word.start:
                errors.append(
                    _error(("words", n, "end"), "word_time", "a word must end after it starts", word.end)
                )
            if word.start < self.start or word.end > self.end:
                message = f"a word must lie inside its cue ({self.start:g} s to {self.end:g} s)"
                errors.append(_error(("words", n), "word_time", message, word.start))
        for n, (earlier, later) in enumerate(itertools.pairwise(self.words or [])):
            if later.start < earlier.start:
                message = f"words must be in time order: {later.start:g} s is before {earlier.start:g} s"
                errors.append(_error(("words", n + 1, "start"), "word_order", message, later.start))
        if self.text is not None and self.words and self.text.split() != [w.text for w in self.words]:
            message = "the words must spell the cue's text, word for word (split at spaces)"
            errors.append(_error(("words",), "word_text", message, None))
        raise_at("Cue", errors)
        return self

    @property
    def shown(self) -> str:
        return self.text if self.text is not None else " ".join(w.text for w in self.words or [])


def text_draws(cues: list[Cue], highlight: bool) -> int:
    """drawtext filters the cues need: one a cue, or one a word when words are highlighted."""
    return sum(len(c.words) if highlight and c.words else 1 for c in cues)


def cue_list_errors(cues: list[Cue], highlight: bool) -> list[InitErrorDetails]:
    """Cues in time order without overlap (each is drawn in the same place), within the limits."""
    errors = [
        _error(
            ("cues", n + 1, "start"),
            "cue_order",
            f"cues must be in time order without overlap: {later.start:g} s is before the previous "
            f"cue's end, {earlier.end:g} s",
            later.start,
        )
        for n, (earlier, later) in enumerate(itertools.pairwise(cues))
        if later.start < earlier.end
    ]
    draws = text_draws(cues, highlight)
    if draws > MAX_TEXT_DRAWS:
        message = (
            f"these cues need {draws} text draws (one a cue, or one a word of a highlighted cue); "
            f"at most {MAX_TEXT_DRAWS} fit in one subtitles element: split them across elements"
        )
        errors.append(_error(("cues",), "too_many_cues", message, None))
    return errors


def subtitles_errors(
    source: str | None, cues: list[Cue] | None, highlight_color: str | None, transcribe: str | None = None
) -> list[InitErrorDetails]:
    """Exactly one of `source`, `cues` and `transcribe`; highlighting needs word timings (which a
    transcript has)."""
    errors: list[InitErrorDetails] = []
    if sum(given is not None for given in (source, cues, transcribe)) != 1:
        message = "give one of source (an SRT or WebVTT URL), cues, or transcribe (an element's id)"
        errors.append(_error(("source",), "subtitles_input", message, source))
    if cues is not None:
        errors += cue_list_errors(cues, highlight_color is not None)
    if highlight_color is not None and transcribe is None and not any(c.words for c in cues or []):
        message = "highlight_color colours spoken words: it needs inline cues with words, or transcribe"
        errors.append(_error(("highlight_color",), "highlight_words", message, highlight_color))
    if source is not None and not source.strip():
        errors.append(_error(("source",), "subtitles_input", "source must not be empty", source))
    return errors
