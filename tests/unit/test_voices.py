"""media/voices: Pico speech and its word timings, the markup guard, the English round trip through
pocketsphinx, the OpenAI-compatible engines against a fake server, the bucket cache, and the
bounds of the engines' child processes."""

from __future__ import annotations

import http.server
import itertools
import json
import sys
import threading
import time
import wave
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import ttspico
from moto import mock_aws

from media.voices import SpeechRequest, Word, child, remote, speak, transcribe
from media.voices.align import align, proportional
from media.voices.script import clean, normal, sentences, words
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings

# A natural paragraph whose words pocketsphinx recovers from Pico's en-US voice (both deterministic).
PARAGRAPH = (
    "Good morning, everyone. This is your captain speaking. We will be landing in about twenty minutes. "
    "The weather on the ground is clear and the temperature is mild. Please return to your seats and "
    "fasten your seat belts. Thank you for flying with us today."
)
KEY = "sk-test-secret-key"


def _settings(**extra: Any) -> Settings:
    return Settings(**{"voice_cache_enabled": False, "voice_timeout_seconds": 60.0, **extra})


def _pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        return wav.readframes(wav.getnframes())


def _assert_timed(spoken_words: tuple[Word, ...], duration: float) -> None:
    starts = [w.start for w in spoken_words]
    assert starts == sorted(starts)
    assert all(0 <= w.start <= w.end <= duration + 1e-3 for w in spoken_words)
    assert all(a.end <= b.start + 1e-3 for a, b in itertools.pairwise(spoken_words))
    # the words cover the speech; Pico ends each sentence with about half a second of silence
    assert spoken_words[0].start < 0.5 and spoken_words[-1].end > duration - 0.75


# --- text and alignment -----------------------------------------------------------------------


def test_clean_leaves_no_markup_or_control_characters() -> None:
    text = 'Say <play file="/etc/passwd"> and\x00 <genfile file="/tmp/x">this</genfile>\u202e now.'
    cleaned = clean(text)
    assert "<" not in cleaned and ">" not in cleaned and "\x00" not in cleaned and "\u202e" not in cleaned
    assert cleaned == 'Say play file="/etc/passwd" and genfile file="/tmp/x" this /genfile now.'


def test_sentences_and_caption_words_keep_punctuation() -> None:
    assert sentences("One. Two!  Three?\nFour") == ["One.", "Two!", "Three?", "Four"]
    assert words("Well — that's it, isn't it?") == ["Well —", "that's", "it,", "isn't", "it?"]
    assert normal("Isn't,") == "isn't" and normal("—") == ""
    long = ", ".join(["word"] * 200)
    assert all(len(piece) <= 400 for piece in sentences(long)) and len(sentences(long)) > 1


def test_align_takes_heard_times_and_shares_the_gaps_by_length() -> None:
    heard = [Word("hello", 0.1, 0.4), Word("there", 1.0, 1.3)]
    timed = align(["Hello,", "big", "wide", "there!"], heard, 0.0, 2.0)
    assert timed[0] == Word("Hello,", 0.1, 0.4) and timed[3] == Word("there!", 1.0, 1.3)
    assert timed[1].start == 0.4 and timed[2].end == 1.0 and timed[1].end == timed[2].start
    assert proportional(["a", "bbb"], 0.0, 6.0) == [Word("a", 0.0, 2.0), Word("bbb", 2.0, 6.0)]


# --- Pico and pocketsphinx --------------------------------------------------------------------


def test_pico_speaks_a_sane_wav_with_words_in_order(tmp_path: Path) -> None:
    spoken = speak(
        SpeechRequest("Hello there. This is a short test.", None, "en", 1.0), tmp_path, _settings(), None
    )
    assert spoken.path.parent == tmp_path and not spoken.cached and len(spoken.cache_key) == 64
    with wave.open(str(spoken.path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16_000, 1, 2)
    assert 1.5 < spoken.duration < 5
    assert [w.text for w in spoken.words] == ["Hello", "there.", "This", "is", "a", "short", "test."]
    _assert_timed(spoken.words, spoken.duration)
    assert [p.name for p in tmp_path.iterdir()] == [spoken.path.name]  # no scratch left behind


def test_pico_speed_and_languages_pocketsphinx_does_not_know(tmp_path: Path) -> None:
    text = "Guten Morgen. Wir zeigen Ihnen heute, wie man ein Video macht."
    normal_speed = speak(SpeechRequest(text, None, "de", 1.0), tmp_path, _settings(), None)
    fast = speak(SpeechRequest(text, "de-DE", None, 2.0), tmp_path, _settings(), None)
    assert fast.duration == pytest.approx(normal_speed.duration / 2, rel=0.05)
    assert [w.text for w in fast.words] == text.split()
    _assert_timed(normal_speed.words, normal_speed.duration)
    _assert_timed(fast.words, fast.duration)
    assert fast.words[-1].end == pytest.approx(normal_speed.words[-1].end / 2, abs=0.01)


def test_markup_in_the_text_is_spoken_as_text_never_obeyed(tmp_path: Path) -> None:
    target = tmp_path / "written.wav"
    text = f'Read <play file="/etc/passwd"> this <genfile file="{target}">now</genfile>.'
    spoken = speak(SpeechRequest(text, "en-US", None, 1.0), tmp_path, _settings(), None)
    assert not target.exists()
    plain = ttspico.TtsEngine("en-US").speak(clean(text))
    assert _pcm(spoken.path) == plain
    assert ttspico.TtsEngine("en-US").speak(text) != plain  # Pico would have obeyed the tags


def test_english_round_trip_recovers_most_words(tmp_path: Path) -> None:
    settings = _settings()
    spoken = speak(SpeechRequest(PARAGRAPH, "en-US", None, 1.0), tmp_path, settings, None)
    heard = transcribe(spoken.path, "en-US", settings, None)
    said = Counter(normal(w) for w in PARAGRAPH.split())
    got = Counter(normal(w.text) for w in heard.words)
    recall = sum(min(got[w], n) for w, n in said.items()) / sum(said.values())
    assert recall >= 0.8, recall
    assert heard.language == "en-US" and not heard.cached
    _assert_timed(heard.words, spoken.duration)


def test_unsupported_voice_language_and_speed_are_invalid_input(tmp_path: Path) -> None:
    for request, listed in [
        (SpeechRequest("Hi.", "nl-NL", None, 1.0), "en-US, en-GB, de-DE, es-ES, fr-FR, it-IT"),
        (SpeechRequest("Hi.", None, "ja", 1.0), "en-US, en-GB, de-DE"),
        (SpeechRequest("Hi.", "de-DE", "fr", 1.0), "does not speak"),
        (SpeechRequest("Hi.", None, None, 3.0), "0.5 to 2"),
        (SpeechRequest("<> ...", None, None, 1.0), "no words"),
    ]:
        with pytest.raises(JobError) as caught:
            speak(request, tmp_path, _settings(), None)
        assert caught.value.code == ErrorCode.INVALID_INPUT and listed in caught.value.message
    with pytest.raises(JobError) as caught:
        transcribe(tmp_path / "any.wav", "de", _settings(), None)
    assert caught.value.code == ErrorCode.INVALID_INPUT and "TRANSCRIBE_URL" in caught.value.message


# --- the bucket cache -------------------------------------------------------------------------


@pytest.fixture
def bucket() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="videogen")
        yield client


def test_a_second_call_is_served_from_the_bucket(
    tmp_path: Path, bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(voice_cache_enabled=True, s3_bucket_name="videogen")
    request = SpeechRequest("Cache me if you can.", None, None, 1.0)
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir()
    second_dir.mkdir()
    uncached = speak(request, first_dir, _settings(), bucket)
    assert "Contents" not in bucket.list_objects_v2(Bucket="videogen")  # VOICE_CACHE_ENABLED=false
    first = speak(request, first_dir, settings, bucket)
    heard = transcribe(first.path, None, settings, bucket)
    assert not first.cached and not heard.cached and first.cache_key == uncached.cache_key

    def no_engine(*_: object, **__: object) -> bytes:
        raise AssertionError("the engine ran again")

    monkeypatch.setattr(child, "run", no_engine)
    again = speak(request, second_dir, settings, bucket)
    assert again.cached and again.cache_key == first.cache_key
    assert (again.words, again.duration) == (first.words, first.duration)
    assert again.path.read_bytes() == first.path.read_bytes()
    heard_again = transcribe(again.path, None, settings, bucket)
    assert heard_again.cached and heard_again.words == heard.words
    keys = sorted(o["Key"] for o in bucket.list_objects_v2(Bucket="videogen")["Contents"])
    assert keys == [
        f"cache/voices/speech/{first.cache_key}.json",
        f"cache/voices/speech/{first.cache_key}.wav",
        f"cache/voices/transcripts/{heard.cache_key}.json",
    ]


# --- the OpenAI-compatible engines ------------------------------------------------------------


@dataclass
class FakeOpenAI:
    """An OpenAI-compatible audio server on 127.0.0.1 that checks the requests' shape and key."""

    audio: bytes
    mode: str = "ok"  # ok, 401, 500, redirect
    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        self.seen.append((path, headers, body))
        if self.mode == "401" or headers.get("authorization") != f"Bearer {KEY}":
            return (
                401,
                {"content-type": "application/json"},
                json.dumps({"error": {"message": "bad key"}}).encode(),
            )
        if self.mode == "500":
            return 500, {}, b"overloaded"
        if self.mode == "redirect":
            return 307, {"location": "http://example.com/v1/audio/speech"}, b""
        if path == "/v1/audio/speech":
            request = json.loads(body)
            assert request == {
                "model": "kokoro",
                "input": "Hello world. This is a test.",
                "voice": "af_bella",
                "speed": 1.25,
                "response_format": "wav",
            }
            return 200, {"content-type": "audio/wav"}, self.audio
        assert path == "/v1/audio/transcriptions"
        for name, value in [
            ("model", "whisper-test"),
            ("response_format", "verbose_json"),
            ("timestamp_granularities[]", "word"),
            ("language", "en"),
        ]:
            assert f'name="{name}"\r\n\r\n{value}\r\n'.encode() in body, name
        assert b'name="file"; filename="heard.wav"' in body and b"RIFF" in body
        heard = [
            ("hello", 0.2, 0.5),
            ("world", 0.5, 0.9),
            ("this", 1.4, 1.6),
            ("is", 1.6, 1.7),
            ("the", 1.7, 1.8),
            ("test", 1.8, 2.2),
        ]
        answer = {"language": "english", "words": [{"word": w, "start": a, "end": b} for w, a, b in heard]}
        return 200, {"content-type": "application/json"}, json.dumps(answer).encode()


@pytest.fixture(scope="module")
def hello_wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("hello") / "hello.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(ttspico.TtsEngine("en-US").speak("Hello world. This is a test."))
    return path.read_bytes()


@pytest.fixture
def fake_server(hello_wav: bytes, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    monkeypatch.setattr(remote, "FIRST_DELAY_SECONDS", 0.0)
    fake = FakeOpenAI(hello_wav)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status, headers, content = fake.answer(
                self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            self.send_response(status)
            for name, value in {**headers, "content-length": str(len(content))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def _server_settings(fake: FakeOpenAI, **extra: Any) -> Settings:
    return _settings(
        speech_url=fake.url,
        speech_api_key=KEY,
        speech_model="kokoro",
        speech_voice="af_bella",
        transcribe_url=fake.url,
        transcribe_api_key=KEY,
        transcribe_model="whisper-test",
        **extra,
    )


def test_speech_server_audio_timed_by_the_transcription_server(
    tmp_path: Path, fake_server: FakeOpenAI
) -> None:
    spoken = speak(
        SpeechRequest("Hello world. This is a test.", None, "en", 1.25),
        tmp_path,
        _server_settings(fake_server),
        None,
    )
    with wave.open(str(spoken.path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (24_000, 1)
    assert [w.text for w in spoken.words] == ["Hello", "world.", "This", "is", "a", "test."]
    assert spoken.words[0] == Word("Hello", 0.2, 0.5) and spoken.words[5] == Word("test.", 1.8, 2.2)
    assert spoken.words[4].start == 1.7  # "a" was heard as "the": it keeps the script's word, in its place
    assert [path for path, _, _ in fake_server.seen] == ["/v1/audio/speech", "/v1/audio/transcriptions"]


def test_transcription_server_words(tmp_path: Path, fake_server: FakeOpenAI) -> None:
    audio = tmp_path / "in.wav"
    audio.write_bytes(fake_server.audio)
    heard = transcribe(audio, "en-US", _server_settings(fake_server), None)
    assert [w.text for w in heard.words] == ["hello", "world", "this", "is", "the", "test"]
    assert heard.language == "en-US" and heard.words[1] == Word("world", 0.5, 0.9)


@pytest.mark.parametrize(
    ("mode", "expected", "attempts"),
    [("401", "check SPEECH_API_KEY", 1), ("500", "failed after 3 attempts", 3), ("redirect", "redirects", 1)],
)
def test_speech_server_failures_say_what_to_check_without_the_key(
    tmp_path: Path,
    fake_server: FakeOpenAI,
    mode: str,
    expected: str,
    attempts: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_server.mode = mode
    with pytest.raises(JobError) as caught:
        speak(
            SpeechRequest("Hello world. This is a test.", None, None, 1.25),
            tmp_path,
            _server_settings(fake_server),
            None,
        )
    assert caught.value.code == ErrorCode.PROCESSING_FAILED and expected in caught.value.message
    assert len(fake_server.seen) == attempts
    assert KEY not in caught.value.message + json.dumps(caught.value.details) + caplog.text


# --- bounds of the child processes ------------------------------------------------------------


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (FileNotFoundError, IndexError):
        return True
    return state == "Z"  # killed, waiting for init to reap it


def test_timeout_kills_the_child_and_its_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = (
        "import os, subprocess, sys, time; "
        "sub = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{sub.pid}}'); time.sleep(60)"
    )
    started = time.monotonic()
    with pytest.raises(JobError) as caught:
        child.run(
            [sys.executable, "-c", script],
            request=b"",
            deadline=child.Deadline(1.5),
            max_bytes=1 << 20,
            what="speech",
        )
    assert (
        caught.value.code == ErrorCode.PROCESSING_TIMEOUT and "VOICE_TIMEOUT_SECONDS" in caught.value.message
    )
    assert time.monotonic() - started < 10
    for pid in map(int, pids.read_text().split()):
        deadline = time.monotonic() + 5
        while not _gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(pid), pid


def test_output_past_the_size_cap_stops_the_child() -> None:
    with pytest.raises(child.TooLarge):  # stdout is a file like the others
        child.run(
            ["/usr/bin/head", "-c", "1048576", "/dev/zero"],
            request=b"",
            deadline=child.Deadline(30),
            max_bytes=64 * 1024,
            what="x",
        )


def test_speech_longer_than_the_longest_output_is_stopped(tmp_path: Path) -> None:
    text = " ".join(["This sentence is spoken again and again."] * 10)
    with pytest.raises(JobError) as caught:
        speak(SpeechRequest(text, None, None, 1.0), tmp_path, _settings(max_output_duration_sec=1), None)
    assert (
        caught.value.code == ErrorCode.INVALID_INPUT and "MAX_OUTPUT_DURATION_SEC=1 s" in caught.value.message
    )


def test_a_failing_child_is_an_error_with_its_stderr(tmp_path: Path) -> None:
    with pytest.raises(JobError) as caught:
        child.run(
            [sys.executable, "-c", "import sys; sys.exit('engine broke')"],
            request=b"",
            deadline=child.Deadline(30),
            max_bytes=1 << 20,
            what="speech",
        )
    assert caught.value.code == ErrorCode.INTERNAL_ERROR and caught.value.details["stderr_tail"] == [
        "engine broke"
    ]
