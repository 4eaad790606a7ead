"""The production engines: servers speaking the OpenAI audio API (Kokoro, Piper, whisper, OpenAI).

`POST {SPEECH_URL}/v1/audio/speech` with `{model, input, voice, speed, response_format: "wav"}`
answers the audio; `POST {TRANSCRIBE_URL}/v1/audio/transcriptions` (multipart: file, model,
language, `response_format=verbose_json`, `timestamp_granularities[]=word`) answers
`{"words": [{"word", "start", "end"}], "language"}` (words inside `segments` are read too).

The URLs are operator settings, trusted, but an answer is not: redirects are refused rather than
followed, answers are capped in size, and the whole exchange shares the call's deadline. 5xx,
429 and dropped connections are retried (media.retry). Errors name the setting to check and the
URL without its query; the key is never put in a message or a log line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field, SecretStr, ValidationError

from media.netguard import redact
from media.retry import retrying
from media.voices.child import Deadline, timed_out
from media.voices.model import Word
from schemas.errors import ErrorCode, JobError

ATTEMPTS = 3
FIRST_DELAY_SECONDS = 0.5
DELAY_CAP_SECONDS = 4.0
MAX_TRANSCRIPT_BYTES = 16 * 1024 * 1024
_CHUNK = 64 * 1024
_ERROR_TEXT_CHARS = 200


class _Transient(Exception):
    """Worth another attempt: 5xx, 429, a refused or dropped connection."""


class _HeardWord(BaseModel):
    word: str = Field(max_length=1000)
    start: float = Field(ge=0)
    end: float = Field(ge=0)


class _Segment(BaseModel):
    words: list[_HeardWord] = Field(default_factory=list)


class _Transcription(BaseModel):
    language: str | None = None
    words: list[_HeardWord] = Field(default_factory=list)
    segments: list[_Segment] = Field(default_factory=list)


class Server:
    """One configured server: its base URL, key, and the names of their settings for messages."""

    def __init__(self, base_url: str, key: SecretStr | None, url_setting: str, key_setting: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = key.get_secret_value() if key is not None else None
        self._url_setting = url_setting
        self._key_setting = key_setting

    def post(
        self,
        path: str,
        body: Callable[[], dict[str, Any]],
        dest: Path,
        *,
        max_bytes: int,
        deadline: Deadline,
        what: str,
    ) -> str | None:
        """POST to `path` with the request `body()` builds (again for each attempt), its answer's
        body streamed into `dest`; returns the answer's content type."""
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}

        def attempt() -> str | None:
            timeout = deadline.remaining(what)
            try:
                with (
                    httpx.Client(timeout=timeout, follow_redirects=False) as client,
                    client.stream("POST", url, headers=headers, **body()) as response,
                ):
                    self._check(response, url, what)
                    self._receive(response, dest, max_bytes, url, what)
                    return response.headers.get("content-type")
            except httpx.TimeoutException:
                raise timed_out(what, deadline.seconds) from None
            except (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
                raise _Transient(f"the connection failed ({type(exc).__name__})") from None

        retrier = retrying(
            attempts=ATTEMPTS,
            first_delay=FIRST_DELAY_SECONDS,
            cap=DELAY_CAP_SECONDS,
            retry_on=lambda exc: isinstance(exc, _Transient),
            what=f"{what} at {redact(url)}",
        )
        try:
            return retrier(attempt)
        except _Transient as exc:
            raise JobError(
                ErrorCode.PROCESSING_FAILED,
                f"{what}: {redact(url)} failed after {ATTEMPTS} attempts: {exc}; check that the server at "
                f"{self._url_setting} is up",
                {"url": redact(url)},
            ) from None

    def _check(self, response: httpx.Response, url: str, what: str) -> None:
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Transient(f"HTTP {status}")
        if status == 200:
            return
        if 300 <= status < 400:
            advice = f"redirects elsewhere; set {self._url_setting} to the address that answers"
        elif status in (401, 403):
            advice = f"refused the key; check {self._key_setting}"
        elif status == 404:
            advice = f"has no such route; set {self._url_setting} to the server's base URL (without /v1/...)"
        else:
            advice = f"refused the request: {self._error_text(response)}"
        raise JobError(
            ErrorCode.PROCESSING_FAILED,
            f"{what}: {redact(url)} answered HTTP {status}; it {advice}",
            {"url": redact(url), "status": status},
        )

    def _error_text(self, response: httpx.Response) -> str:
        raw = b""
        for chunk in response.iter_bytes():
            raw += chunk
            if len(raw) >= 4 * _ERROR_TEXT_CHARS:
                break
        text = " ".join(raw.decode("utf-8", "replace").split())[:_ERROR_TEXT_CHARS]
        return text.replace(self._key, "***") if self._key else text

    @staticmethod
    def _receive(response: httpx.Response, dest: Path, max_bytes: int, url: str, what: str) -> None:
        written = 0
        with dest.open("wb") as out:
            for chunk in response.iter_raw(_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise JobError(
                        ErrorCode.PROCESSING_FAILED,
                        f"{what}: {redact(url)} answered more than {max_bytes / 1_048_576:g} MB",
                        {"url": redact(url)},
                    )
                out.write(chunk)


def synthesize(
    server: Server,
    *,
    model: str,
    voice: str,
    text: str,
    speed: float,
    dest: Path,
    max_bytes: int,
    deadline: Deadline,
) -> None:
    """The server's speech of `text` into `dest` (WAV, as asked; FFmpeg reads whatever it is)."""
    body = {"model": model, "input": text, "voice": voice, "speed": speed, "response_format": "wav"}
    server.post(
        "/v1/audio/speech",
        lambda: {"json": body},
        dest,
        max_bytes=max_bytes,
        deadline=deadline,
        what="speech",
    )


def transcribe(
    server: Server, audio: Path, *, model: str, language: str | None, scratch: Path, deadline: Deadline
) -> tuple[str | None, tuple[Word, ...]]:
    """The words the server hears in `audio`, with its idea of the language."""
    fields: dict[str, Any] = {
        "model": model,
        "response_format": "verbose_json",
        "timestamp_granularities[]": "word",
    }
    if language:
        fields["language"] = language.split("-")[0].lower()

    def body() -> dict[str, Any]:
        return {"data": fields, "files": {"file": (audio.name, audio.read_bytes(), "audio/wav")}}

    server.post(
        "/v1/audio/transcriptions",
        body,
        scratch,
        max_bytes=MAX_TRANSCRIPT_BYTES,
        deadline=deadline,
        what="transcription",
    )
    try:
        answer = _Transcription.model_validate(json.loads(scratch.read_bytes()))
    except (ValueError, ValidationError) as exc:
        raise JobError(
            ErrorCode.PROCESSING_FAILED,
            f"transcription: {redact(server.base_url)} answered something other than verbose_json with word "
            f"timestamps ({type(exc).__name__}); check it supports timestamp_granularities[]=word",
        ) from None
    heard = answer.words or [w for segment in answer.segments for w in segment.words]
    words = tuple(Word(w.word.strip(), w.start, max(w.start, w.end)) for w in heard if w.word.strip())
    return answer.language, words
