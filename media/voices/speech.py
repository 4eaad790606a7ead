"""Speaking a `speech` element's text: SVOX Pico offline, or SPEECH_URL's server; with the time of
every word, for captions.

Pico speaks sentence by sentence, so each sentence's place in the audio is exact; within a
sentence, what pocketsphinx hears is matched to the script (media.voices.align), and for the
languages pocketsphinx does not know the words share the sentence's voiced span by length. A
server's audio comes whole: the configured recognizer hears it all and the same matching times
the words. Speed is applied after synthesis with FFmpeg's atempo (pitch kept), so times scale
exactly; a server is asked for the speed itself.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from media.netguard import redact
from media.voices import audio, child, recognition, remote
from media.voices.align import align, proportional
from media.voices.cache import VoiceCache, cache_key
from media.voices.model import SpeechRequest, Spoken, Word
from media.voices.script import clean, sentences, words
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PICO_VOICES = ("en-US", "en-GB", "de-DE", "es-ES", "fr-FR", "it-IT")
_PICO_BY_LANGUAGE = {"en": "en-US", "de": "de-DE", "es": "es-ES", "fr": "fr-FR", "it": "it-IT"}
PICO_RATE = 16_000
SERVER_RATE = 24_000  # what a server's answer is resampled to, whatever it sent
MIN_SPEED, MAX_SPEED = 0.5, 2.0
MAX_TEXT_CHARS = 20_000
CACHE_VERSION = 1  # of the cached words' making: raise it when alignment changes
_HEADER_BYTES = 4096


def speak(request: SpeechRequest, dest_dir: Path, settings: Settings, s3: S3Client | None) -> Spoken:
    """Blocking: run it in a thread. The engines run in child processes bounded by VOICE_TIMEOUT_SECONDS."""
    text = _checked_text(request)
    if settings.speech_url:
        voice = request.voice or settings.speech_voice
        engine = {"engine": "openai", "url": redact(settings.speech_url), "model": settings.speech_model}
    else:
        voice = pico_voice(request.voice, request.language)
        engine = {"engine": "pico", "version": version("ttspico")}
    english = recognition.is_english(request.language) and bool(settings.speech_url or voice.startswith("en"))
    key = cache_key(
        kind="speech",
        format=CACHE_VERSION,
        engine=engine,
        voice=voice,
        language=request.language,
        speed=request.speed,
        text=text,
        timing=recognition.identity(settings) if english else "proportional",
    )
    dest = dest_dir / f"speech-{key[:32]}.wav"
    cache = VoiceCache(settings, s3)
    hit = cache.speech(key, dest, _wav_bytes(settings, SERVER_RATE))
    if hit is not None:
        return Spoken(dest, hit.duration, hit.words, key, cached=True)
    deadline = child.Deadline(settings.voice_timeout_seconds)
    with tempfile.TemporaryDirectory(dir=dest_dir, prefix="speech-") as scratch:
        if settings.speech_url:
            timed = _server(text, voice, request, english, dest, Path(scratch), settings, deadline)
        else:
            timed = _pico(text, voice, request.speed, english, dest, Path(scratch), settings, deadline)
    duration = audio.duration(dest)
    cache.keep_speech(key, dest, duration, timed)
    return Spoken(dest, duration, timed, key, cached=False)


def pico_voice(voice: str | None, language: str | None) -> str:
    """The Pico voice a request names, or the one of its language (en-US without either)."""
    known = {v.lower(): v for v in PICO_VOICES}
    if voice is not None:
        chosen = known.get(voice.replace("_", "-").lower())
        if chosen is None:
            raise JobError(
                ErrorCode.INVALID_INPUT,
                f"voice {voice!r} is not an offline voice; use one of {', '.join(PICO_VOICES)}, "
                "or set SPEECH_URL to a speech server with others",
            )
        if language is not None and recognition.primary(language) != recognition.primary(chosen):
            raise JobError(
                ErrorCode.INVALID_INPUT,
                f"voice {chosen!r} does not speak language {language!r}; "
                "leave voice out to take the language's",
            )
        return chosen
    if language is None:
        return PICO_VOICES[0]
    chosen = known.get(language.replace("_", "-").lower()) or _PICO_BY_LANGUAGE.get(
        recognition.primary(language)
    )
    if chosen is None:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"language {language!r} has no offline voice; the offline voices speak {', '.join(PICO_VOICES)}; "
            "set SPEECH_URL to a speech server for others",
        )
    return chosen


def _checked_text(request: SpeechRequest) -> str:
    if not MIN_SPEED <= request.speed <= MAX_SPEED:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"speed must be from {MIN_SPEED:g} to {MAX_SPEED:g}, not {request.speed:g}",
        )
    if len(request.text) > MAX_TEXT_CHARS:
        raise JobError(
            ErrorCode.INVALID_INPUT, f"speech text is longer than {MAX_TEXT_CHARS} characters; split it"
        )
    text = clean(request.text)
    if not any(words(sentence) for sentence in sentences(text)):
        raise JobError(ErrorCode.INVALID_INPUT, "speech text has no words to speak")
    return text


def _pico(
    text: str,
    voice: str,
    speed: float,
    english: bool,
    dest: Path,
    scratch: Path,
    settings: Settings,
    deadline: child.Deadline,
) -> tuple[Word, ...]:
    parts = [sentence for sentence in sentences(text) if words(sentence)]
    raw = scratch / "pico.wav"
    request = json.dumps({"voice": voice, "sentences": parts, "wav": str(raw)}).encode()
    try:
        answer = child.run(
            child.python_module("media.voices.pico_cli"),
            request=request,
            deadline=deadline,
            max_bytes=int(_wav_bytes(settings, PICO_RATE) * speed),
            what="speech",
        )
    except child.TooLarge:
        raise _too_long(settings) from None
    spans: list[list[int]] = json.loads(answer)["spans"]
    if english:
        heard = recognition.sphinx(raw, [(start, end) for start, end, _, _ in spans], deadline)
        timed = [
            align(words(part), said, first / PICO_RATE, last / PICO_RATE)
            for part, said, (_, _, first, last) in zip(parts, heard, spans, strict=True)
        ]
    else:
        timed = [
            proportional(words(part), first / PICO_RATE, last / PICO_RATE)
            for part, (_, _, first, last) in zip(parts, spans, strict=True)
        ]
    flat = tuple(word for sentence in timed for word in sentence)
    if speed == 1:
        raw.replace(dest)
        _check_length(dest, settings)
        return flat
    audio.mono_wav(raw, dest, settings, deadline, "speech", rate=PICO_RATE, tempo=speed)
    _check_length(dest, settings)
    return tuple(replace(w, start=round(w.start / speed, 3), end=round(w.end / speed, 3)) for w in flat)


def _server(
    text: str,
    voice: str,
    request: SpeechRequest,
    english: bool,
    dest: Path,
    scratch: Path,
    settings: Settings,
    deadline: child.Deadline,
) -> tuple[Word, ...]:
    assert settings.speech_url is not None
    server = remote.Server(settings.speech_url, settings.speech_api_key, "SPEECH_URL", "SPEECH_API_KEY")
    answer = scratch / "answer"
    remote.synthesize(
        server,
        model=settings.speech_model,
        voice=voice,
        text=text,
        speed=request.speed,
        dest=answer,
        max_bytes=int(settings.max_file_size_mb * 1_048_576),
        deadline=deadline,
    )
    audio.mono_wav(answer, dest, settings, deadline, "speech", rate=SERVER_RATE, tempo=1)
    duration = _check_length(dest, settings)
    script = [word for sentence in sentences(text) for word in words(sentence)]
    if not english and not settings.transcribe_url:
        return tuple(proportional(script, 0.0, duration))
    _, heard = recognition.recognize(dest, request.language, settings, scratch, deadline)
    return tuple(align(script, heard, 0.0, duration))


def _wav_bytes(settings: Settings, rate: int) -> int:
    return int((audio.max_seconds(settings) + 2) * rate * 2) + _HEADER_BYTES


def _check_length(wav: Path, settings: Settings) -> float:
    duration = audio.duration(wav)
    if duration > audio.max_seconds(settings):
        raise _too_long(settings)
    return duration


def _too_long(settings: Settings) -> JobError:
    return JobError(
        ErrorCode.INVALID_INPUT,
        f"the speech would be longer than MAX_OUTPUT_DURATION_SEC={audio.max_seconds(settings):g} s; "
        "shorten the text or speak it faster",
    )
