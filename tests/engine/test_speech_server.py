"""The URL engines end to end: a spec with speech and a transcript prepared through an
OpenAI-compatible audio server started here (it speaks with Pico and listens with pocketsphinx, as
a team's Kokoro or whisper server would answer), rendered, and the narration heard back through
the same server."""

from __future__ import annotations

import asyncio
import email.parser
import http.server
import json
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from media.render import render_video
from media.voices import SpeechRequest, speak, transcribe
from media.voicing import prepare_voices
from schemas.settings import Settings
from schemas.spec import VideoSpec
from tests.media import probe_output

KEY = "sk-engine-test"
SCRIPT = (
    "Good morning, everyone. This is your captain speaking. We will be landing in about twenty minutes. "
    "Thank you for flying with us today."
)
OFFLINE = Settings(ffmpeg_threads=1, voice_cache_enabled=False)


def _answer(path: str, content_type: str, body: bytes) -> tuple[int, str, bytes]:
    """What an OpenAI-compatible server answers, made by the offline engines."""
    with tempfile.TemporaryDirectory() as scratch:
        if path == "/v1/audio/speech":
            request = json.loads(body)
            spoken = speak(
                SpeechRequest(request["input"], None, "en", request["speed"]), Path(scratch), OFFLINE, None
            )
            return 200, "audio/wav", spoken.path.read_bytes()
        form = email.parser.BytesParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        fields = {part.get_param("name", header="content-disposition"): part for part in form.get_payload()}
        audio = Path(scratch) / "heard.wav"
        audio.write_bytes(fields["file"].get_payload(decode=True))
        heard = transcribe(audio, "en", OFFLINE, None)
        words = [{"word": w.text, "start": w.start, "end": w.end} for w in heard.words]
        return 200, "application/json", json.dumps({"language": "english", "words": words}).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.headers.get("authorization") != f"Bearer {KEY}":
                status, kind, content = 401, "application/json", b'{"error": {"message": "bad key"}}'
            else:
                status, kind, content = _answer(self.path, self.headers.get("content-type", ""), body)
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *_: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def test_speech_and_captions_through_a_url_engine_round_trip(server: str, tmp_path: Path) -> None:
    settings = Settings(
        ffmpeg_threads=1,
        voice_cache_enabled=False,
        speech_url=server,
        speech_api_key=KEY,
        transcribe_url=server,
        transcribe_api_key=KEY,
    )
    spec = VideoSpec.model_validate(
        {
            "width": 320,
            "height": 240,
            "fps": 25,
            "elements": [
                {"type": "speech", "id": "voice", "text": SCRIPT, "time": 0.5},
                {"type": "subtitles", "transcribe": "voice", "font_size": 18},
            ],
        }
    )
    made = prepare_voices(spec, {}, tmp_path / "voices", settings, None)
    assert sorted(made) == [0, 1] and made[0].url.startswith("speech:")
    sources = {index: file.path for index, file in made.items()}
    outcome = asyncio.run(render_video(spec, sources, tmp_path / "out.mp4", settings=settings))
    probed = probe_output(outcome.path)
    assert probed.audio_codec == "aac" and probed.duration > 5
    assert outcome.captions is not None and outcome.captions.read_text().startswith("1\n00:00:00,5")

    heard = transcribe(outcome.path, "en", settings, None)
    expected, got = _words(SCRIPT), [w.text.lower() for w in heard.words]
    recall = sum(min(got.count(w), expected.count(w)) for w in set(expected)) / len(expected)
    assert recall >= 0.8, (recall, " ".join(got))
