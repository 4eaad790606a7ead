"""What a speech or transcription call takes and gives back; the interface the render codes against."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Word:
    """One word as spoken, in seconds from the start of the audio. The text keeps the script's
    spelling and punctuation (captions show it); a transcript's words are the recognizer's."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class SpeechRequest:
    text: str
    voice: str | None
    language: str | None
    speed: float  # 0.5..2, 1 = normal


@dataclass(frozen=True)
class Spoken:
    path: Path  # WAV, mono s16, in dest_dir
    duration: float
    words: tuple[Word, ...]
    cache_key: (
        str  # sha256 hex of what decides the audio: engine, model, voice, language, speed, text, versions
    )
    cached: bool  # taken from the bucket cache


@dataclass(frozen=True)
class Transcript:
    words: tuple[Word, ...]
    language: str | None
    cache_key: str
    cached: bool
