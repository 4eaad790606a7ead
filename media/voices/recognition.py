"""Hearing words in audio: pocketsphinx offline (English), or TRANSCRIBE_URL's server."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

from media.netguard import redact
from media.voices import audio, child, remote
from media.voices.model import Word
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings

OFFLINE_LANGUAGES = ("en",)


def primary(language: str) -> str:
    """`en` of `en-US`, `en_gb`, `EN`."""
    return language.replace("_", "-").split("-")[0].lower()


def is_english(language: str | None) -> bool:
    return language is None or primary(language) == "en"


def identity(settings: Settings) -> dict[str, str]:
    """What decides what the recognizer hears, for cache keys."""
    if settings.transcribe_url:
        return {
            "recognizer": "openai",
            "url": redact(settings.transcribe_url),
            "model": settings.transcribe_model,
        }
    return {"recognizer": "pocketsphinx", "version": version("pocketsphinx")}


def check_language(language: str | None, settings: Settings) -> None:
    if not settings.transcribe_url and not is_english(language):
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"language {language!r} cannot be transcribed offline: the built-in recognizer (pocketsphinx) "
            f"knows only {', '.join(OFFLINE_LANGUAGES)}; set TRANSCRIBE_URL to a whisper server for others",
        )


def server(settings: Settings) -> remote.Server:
    assert settings.transcribe_url is not None
    return remote.Server(
        settings.transcribe_url, settings.transcribe_api_key, "TRANSCRIBE_URL", "TRANSCRIBE_API_KEY"
    )


def recognize(
    source: Path, language: str | None, settings: Settings, scratch: Path, deadline: child.Deadline
) -> tuple[str | None, tuple[Word, ...]]:
    """The words heard in `source` (any audio FFmpeg reads), and their language."""
    wav = scratch / "heard.wav"
    audio.for_recognizer(source, wav, settings, deadline, "transcription")
    if settings.transcribe_url:
        heard_language, words = remote.transcribe(
            server(settings),
            wav,
            model=settings.transcribe_model,
            language=language,
            scratch=scratch / "transcription.json",
            deadline=deadline,
        )
        return language or heard_language, words
    return language or "en", tuple(sphinx(wav, None, deadline)[0])


def sphinx(wav: Path, spans: list[tuple[int, int]] | None, deadline: child.Deadline) -> list[list[Word]]:
    """pocketsphinx's words in a 16 kHz WAV: one list per span of samples, or (no spans) one list
    for the whole file, cut where the voice activity detector hears silence."""
    request = json.dumps({"wav": str(wav), "spans": spans}).encode()
    try:
        answer = child.run(
            child.python_module("media.voices.sphinx_cli"),
            request=request,
            deadline=deadline,
            max_bytes=remote.MAX_TRANSCRIPT_BYTES,
            what="speech recognition",
        )
    except child.TooLarge:
        raise JobError(
            ErrorCode.INTERNAL_ERROR, "speech recognition answered more words than expected"
        ) from None
    utterances = [
        [Word(str(t), float(a), float(b)) for t, a, b in u] for u in json.loads(answer)["utterances"]
    ]
    if spans is None:
        return [[word for utterance in utterances for word in utterance]]
    return utterances
