"""Speech and transcripts kept in the bucket by content hash, so a template rendered again does
not speak or listen twice.

Speech lies under `cache/voices/speech/<key>.wav` with `<key>.json` (duration, words) written
after it: the JSON is what makes an entry exist, so a half-written one is a miss. Transcripts lie
under `cache/voices/transcripts/<key>.json`. The bucket's lifecycle rule (storage/s3.py) expires
both like results. The cache is an optimisation: a bucket that cannot be read or written is
logged and the engine runs as if the entry were absent.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from media.voices.model import Word
from schemas.settings import Settings
from storage.s3 import VOICE_CACHE_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

SPEECH_PREFIX = f"{VOICE_CACHE_PREFIX}speech/"
TRANSCRIPTS_PREFIX = f"{VOICE_CACHE_PREFIX}transcripts/"
MAX_JSON_BYTES = 16 * 1024 * 1024
_CHUNK = 1024 * 1024
_FAILURES = (ClientError, BotoCoreError, OSError, ValueError, KeyError, TypeError)


def cache_key(**parts: object) -> str:
    """sha256 hex of everything that decides a result, as canonical JSON."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class CachedSpeech:
    duration: float
    words: tuple[Word, ...]


class VoiceCache:
    """The bucket's voice cache, or a cache that always misses (no S3, VOICE_CACHE_ENABLED=false)."""

    def __init__(self, settings: Settings, s3: S3Client | None) -> None:
        self._client = s3 if settings.voice_cache_enabled else None
        self._bucket = settings.s3_bucket_name

    def speech(self, key: str, dest: Path, max_bytes: int) -> CachedSpeech | None:
        """The cached speech under `key`, its WAV copied to `dest`; None on a miss."""
        if self._client is None:
            return None
        try:
            meta = self._json(f"{SPEECH_PREFIX}{key}.json")
            if meta is None:
                return None
            self._download(f"{SPEECH_PREFIX}{key}.wav", dest, max_bytes)
            return CachedSpeech(float(meta["duration"]), _words(meta["words"]))
        except _FAILURES as exc:
            log.warning("voice cache: could not read speech %s, speaking again: %s", key, _why(exc))
            dest.unlink(missing_ok=True)
            return None

    def keep_speech(self, key: str, wav: Path, duration: float, words: tuple[Word, ...]) -> None:
        if self._client is None:
            return
        try:
            self._client.upload_file(str(wav), self._bucket, f"{SPEECH_PREFIX}{key}.wav")
            self._put_json(f"{SPEECH_PREFIX}{key}.json", {"duration": duration, "words": _plain(words)})
        except _FAILURES as exc:
            log.warning("voice cache: could not keep speech %s: %s", key, _why(exc))

    def transcript(self, key: str) -> tuple[str | None, tuple[Word, ...]] | None:
        if self._client is None:
            return None
        try:
            meta = self._json(f"{TRANSCRIPTS_PREFIX}{key}.json")
            return None if meta is None else (meta["language"], _words(meta["words"]))
        except _FAILURES as exc:
            log.warning("voice cache: could not read transcript %s, listening again: %s", key, _why(exc))
            return None

    def keep_transcript(self, key: str, language: str | None, words: tuple[Word, ...]) -> None:
        if self._client is None:
            return
        try:
            self._put_json(f"{TRANSCRIPTS_PREFIX}{key}.json", {"language": language, "words": _plain(words)})
        except _FAILURES as exc:
            log.warning("voice cache: could not keep transcript %s: %s", key, _why(exc))

    def _json(self, key: str) -> Any:
        assert self._client is not None
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        body = response["Body"]
        try:
            data = body.read(MAX_JSON_BYTES + 1)
        finally:
            body.close()
        if len(data) > MAX_JSON_BYTES:
            raise ValueError(f"{key} is larger than {MAX_JSON_BYTES} bytes")
        return json.loads(data)

    def _download(self, key: str, dest: Path, max_bytes: int) -> None:
        assert self._client is not None
        body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
        written = 0
        try:
            with dest.open("wb") as out:
                while chunk := body.read(_CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise ValueError(f"{key} is larger than {max_bytes} bytes")
                    out.write(chunk)
        finally:
            body.close()

    def _put_json(self, key: str, value: object) -> None:
        assert self._client is not None
        body = json.dumps(value, separators=(",", ":")).encode()
        self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")


def _plain(words: tuple[Word, ...]) -> list[list[object]]:
    return [[w.text, w.start, w.end] for w in words]


def _words(raw: list[list[Any]]) -> tuple[Word, ...]:
    return tuple(Word(str(text), float(start), float(end)) for text, start, end in raw)


def _why(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
