"""Attacks through the real pipeline (API, Kafka, fetch, screening, FFmpeg, S3).

Each one must end as a failed job (or a 400) with the right code, leave no files in the work
directory, and leave the worker able to run the next job.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from media.text import DEFAULT_FONT
from tests.e2e.conftest import MediaServer, RunningStack
from tests.e2e.test_pipeline import prd_example, wait_for_terminal
from tests.media import FFMPEG

pytestmark = pytest.mark.e2e

OVERSIZED_BYTES = 40 * 1024 * 1024  # above the stack's MAX_FILE_SIZE_MB=32
CLEANUP_WAIT_SECONDS = 30.0


class _Tricks(http.server.BaseHTTPRequestHandler):
    """An allowed (127.0.0.1) host that misbehaves: redirects to loopback names, lies about sizes."""

    protocol_version = "HTTP/1.1"
    media_port = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/to-localhost"):
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{self.media_port}/blue.mp4")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/lying-length"):
            # Claims 1 KB, streams 40 MB: the size limit must hold on the bytes, not the header.
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", "1024")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"\x00" * 65536
            with contextlib.suppress(OSError):
                for _ in range(OVERSIZED_BYTES // len(chunk)):
                    self.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def tricks(media_server: MediaServer) -> Iterator[str]:
    handler = type("Tricks", (_Tricks,), {"media_port": int(media_server.base.rsplit(":", 1)[1])})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png(path: Path, side: int = 30000) -> None:
    """A valid 30000x30000 1-bit PNG of about 100 KB that inflates to 112 MB (900 megapixels)."""
    row = b"\x00" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def hostile_files(media_server: MediaServer) -> MediaServer:
    """Hostile sources next to the media server's good ones."""
    root = media_server.root
    playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
    (root / "passwd.m3u8").write_text(playlist)
    (root / "passwd_playlist.mp4").write_text(playlist)  # the extension must not matter
    _bomb_png(root / "bomb.png")
    whole = (root / "blue.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    return media_server


def _video(source: str, kind: str = "video") -> dict[str, Any]:
    return {
        "output_format": "mp4",
        "width": 320,
        "height": 240,
        "elements": [{"type": kind, "source": source}],
    }


def _outcome(client: httpx.Client, spec: dict[str, Any]) -> dict[str, Any]:
    """The job's final view, or for a request refused at the door, its error envelope body."""
    response = client.post("/api/v1/videocreate", json=spec)
    body = response.json()
    if response.status_code == 202:
        return wait_for_terminal(client, body["job_id"])
    if response.status_code == 200:
        return dict(body)
    job_id = body["error"]["details"].get("job_id")
    if job_id is None:
        assert response.status_code == 400, response.text
        return {"status": "rejected", "error": body["error"]["code"], "message": body["error"]["message"]}
    return wait_for_terminal(client, job_id)


def _work_dir_is_clean(stack: RunningStack, job_id: str | None) -> bool:
    work = stack.data_dir / "work"
    leftovers = list(work.rglob("*.part")) + ([work / job_id] if job_id and (work / job_id).exists() else [])
    return not leftovers


def assert_refused(stack: RunningStack, spec: dict[str, Any], code: str, *fragments: str) -> dict[str, Any]:
    with stack.client() as client:
        final = _outcome(client, spec)
    assert final["status"] in ("failed", "rejected"), final
    assert final["error"] == code, final
    for fragment in fragments:
        assert fragment in final["message"], final["message"]
    # The failure is announced before the stage removes the job's directory: wait for it, bounded.
    deadline = time.monotonic() + CLEANUP_WAIT_SECONDS
    while not _work_dir_is_clean(stack, final.get("job_id")):
        assert time.monotonic() < deadline, f"temp files left behind by {final.get('job_id')}"
        time.sleep(0.2)
    return final


def _port(media: MediaServer) -> str:
    return media.base.rsplit(":", 1)[1]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("http://localhost:{port}/blue.mp4", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[::1]:{port}/blue.mp4", "loopback"),
        ("http://0x7f000001:{port}/blue.mp4", "loopback"),
        ("http://2130706433:{port}/blue.mp4", "loopback"),
        ("http://0177.0.0.1:{port}/blue.mp4", "not a valid URL"),  # httpx refuses to parse it
        ("http://[::ffff:127.0.0.1]:{port}/blue.mp4", "loopback"),
        ("http://10.0.0.1:{port}/blue.mp4", "private"),
    ],
)
def test_ssrf_addresses_are_refused(
    stack: RunningStack, media_server: MediaServer, source: str, reason: str
) -> None:
    assert_refused(stack, _video(source.format(port=_port(media_server))), "INVALID_INPUT", reason)


def test_redirect_from_an_allowed_host_to_loopback_is_refused(stack: RunningStack, tricks: str) -> None:
    assert_refused(stack, _video(f"{tricks}/to-localhost"), "INVALID_INPUT", "localhost", "loopback")


def test_a_name_resolving_to_loopback_is_refused(stack: RunningStack, media_server: MediaServer) -> None:
    # The machine's own name goes through the system resolver like any DNS name; where it resolves
    # to a private address it is the attack without editing /etc/hosts or running a DNS server.
    name = socket.gethostname()
    try:
        address = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)[0][4][0]
    except OSError:
        pytest.skip(f"the host name {name!r} does not resolve here")
    if not (address.startswith(("127.", "10.", "192.168.", "172.")) or address in ("::1",)):
        pytest.skip(f"the host name {name!r} resolves to {address}, not a private address")
    assert_refused(stack, _video(f"http://{name}:{_port(media_server)}/blue.mp4"), "INVALID_INPUT", address)


@pytest.mark.parametrize(
    "source", ["file:///etc/passwd", "ftp://127.0.0.1/blue.mp4", "gopher://127.0.0.1:70/"]
)
def test_other_schemes_are_refused(stack: RunningStack, source: str) -> None:
    assert_refused(stack, _video(source), "INVALID_INPUT", "scheme")


@pytest.mark.parametrize("name", ["passwd.m3u8", "passwd_playlist.mp4"])
def test_playlist_naming_a_local_file_never_reaches_ffmpeg(
    stack: RunningStack, hostile_files: MediaServer, name: str
) -> None:
    final = assert_refused(stack, _video(hostile_files.url(name)), "INVALID_INPUT", "not a recognised media")
    assert "root:" not in str(final)


def test_oversized_download_with_a_lying_content_length(stack: RunningStack, tricks: str) -> None:
    assert_refused(stack, _video(f"{tricks}/lying-length"), "INVALID_INPUT", "32 MB limit")


def test_decompression_bomb_png(stack: RunningStack, hostile_files: MediaServer) -> None:
    assert_refused(stack, _video(hostile_files.url("bomb.png"), "image"), "INVALID_INPUT", "30000")


def test_truncated_mp4(stack: RunningStack, hostile_files: MediaServer) -> None:
    assert_refused(stack, _video(hostile_files.url("truncated.mp4")), "INVALID_INPUT", "element")


INJECTIONS = ["'; drawtext=text='pwned", "%{eif:1/0:d}", "a\\\\b \\ c\\", "12:30 a:b=c"]
ROW = 90


def _gray_frame(path: Path, width: int, height: int, at: float | None = None) -> np.ndarray:
    seek = ["-ss", str(at)] if at is not None else []
    raw = subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            *seek,
            "-i",
            str(path),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width).astype(np.int16)


def _reference(tmp_path: Path, width: int) -> np.ndarray:
    """The rows drawn by FFmpeg directly, each text read verbatim from a file."""
    filters = []
    for i, text in enumerate(INJECTIONS):
        text_file = tmp_path / f"text{i}.txt"
        text_file.write_text(text)
        filters.append(
            f"drawtext=fontfile={DEFAULT_FONT}:textfile={text_file}:expansion=none:fontsize=40"
            f":fontcolor=white:x=(w-text_w)/2:y={i * ROW}+({ROW}-text_h)/2"
        )
    out = tmp_path / "reference.png"
    subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"color=black:s={width}x{ROW * len(INJECTIONS)}:d=1",
            "-vf",
            ",".join(filters),
            "-frames:v",
            "1",
            "-y",
            str(out),
        ],
        check=True,
    )
    return _gray_frame(out, width, ROW * len(INJECTIONS))


def test_drawtext_injection_renders_verbatim(stack: RunningStack, tmp_path: Path) -> None:
    width, height = 640, ROW * len(INJECTIONS)
    texts = [
        {
            "type": "text",
            "text": text,
            "track": 2,
            "x": 0,
            "y": i * ROW,
            "width": width,
            "height": ROW,
            "font_size": 40,
            "color": "#ffffff",
        }
        for i, text in enumerate(INJECTIONS)
    ]
    spec = {
        "output_format": "mp4",
        "width": width,
        "height": height,
        "duration": 1,
        "elements": [{"type": "color", "color": "#000000"}, *texts],
    }
    with stack.client() as client:
        final = _outcome(client, spec)
        assert final["status"] == "completed", final
    video = tmp_path / "text.mp4"
    video.write_bytes(httpx.get(final["result_url"], timeout=30).content)
    rendered, expected = _gray_frame(video, width, height, at=0.5), _reference(tmp_path, width)
    for i, text in enumerate(INJECTIONS):
        got, want = rendered[i * ROW : (i + 1) * ROW], expected[i * ROW : (i + 1) * ROW]
        assert (want > 128).sum() > 100, f"reference row {i} is empty"
        differing = int((abs(got - want) > 96).sum())
        assert differing < 0.05 * (want > 128).sum(), f"row {i} ({text!r}) differs in {differing} pixels"


def test_worker_still_healthy_after_the_attacks(stack: RunningStack, media_server: MediaServer) -> None:
    with stack.client() as client:
        response = client.post("/api/v1/videocreate", json=prd_example(media_server))
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "completed"
    worker = f"http://127.0.0.1:{stack.env['WORKER_WEB_PORT']}/health"
    assert httpx.get(worker, timeout=5).status_code == 200
    assert not list((stack.data_dir / "work").rglob("*.part"))
