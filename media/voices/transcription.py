"""Captions from speech: the words of an audio file and their times, cached by the file's content."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from media.voices import child, recognition
from media.voices.cache import VoiceCache, cache_key, file_digest
from media.voices.model import Transcript
from schemas.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CACHE_VERSION = 1


def transcribe(audio: Path, language: str | None, settings: Settings, s3: S3Client | None) -> Transcript:
    """Blocking: run it in a thread. pocketsphinx offline (English), or TRANSCRIBE_URL's server."""
    recognition.check_language(language, settings)
    key = cache_key(
        kind="transcript",
        format=CACHE_VERSION,
        audio=file_digest(audio),
        language=language,
        recognizer=recognition.identity(settings),
    )
    cache = VoiceCache(settings, s3)
    hit = cache.transcript(key)
    if hit is not None:
        return Transcript(hit[1], hit[0], key, cached=True)
    deadline = child.Deadline(settings.voice_timeout_seconds)
    with tempfile.TemporaryDirectory(dir=audio.parent, prefix="transcript-") as scratch:
        heard_language, words = recognition.recognize(audio, language, settings, Path(scratch), deadline)
    cache.keep_transcript(key, heard_language, words)
    return Transcript(words, heard_language, key, cached=False)
