"""fetch_sources against a local HTTP server (and moto for s3://): limits, retries, SSRF, cleanup."""

from __future__ import annotations

import asyncio
import base64
import datetime
import errno
import io
import os
import socket
import ssl
import struct
import subprocess
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx
import imageio_ffmpeg
import pytest
from boto3.s3.transfer import TransferConfig
from botocore import exceptions as boto
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto.server import ThreadedMotoServer

from media.fetch import fetch_sources, wanted_sources
from media.fonts import font_key
from media.source_cache import SourceCache
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings
from schemas.spec import VideoSpec
from storage.s3 import s3_client

Route = Callable[[BaseHTTPRequestHandler], None]


def ffmpeg(*args: str) -> None:
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run([exe, "-v", "error", "-y", "-threads", "1", *args], check=True)


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with a tiny IDAT: decoding it would need gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@dataclass(frozen=True)
class Media:
    png: bytes
    bmp: bytes
    mp4: bytes
    mp3: bytes


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    d = tmp_path_factory.mktemp("media")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=32x24", "-frames:v", "1", str(d / "a.png"))
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=448x448", "-frames:v", "1", str(d / "a.bmp"))
    ffmpeg(
        *(
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=2",
        ),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"),
        *("-movflags", "+faststart", str(d / "a.mp4")),
    )
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", str(d / "a.mp3"))
    return Media(*((d / f"a.{ext}").read_bytes() for ext in ("png", "bmp", "mp4", "mp3")))


@dataclass
class Server:
    routes: dict[str, Route]
    port: int = 0
    hits: dict[str, int] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def reply(handler: BaseHTTPRequestHandler, body: bytes, status: int = 200, **headers: str) -> None:
    handler.send_response(status)
    headers.setdefault("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body)


def redirect(location: str, status: int = 302) -> Route:
    return lambda h: reply(h, b"", status, Location=location)


@pytest.fixture
def server() -> Iterator[Server]:
    yield from serve()


def serve(tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    state = Server(routes={})

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            state.hits[path] = state.hits.get(path, 0) + 1
            state.hosts.append(self.headers.get("Host", ""))
            route = state.routes.get(path)
            if route is None:
                reply(self, b"not found", 404)
            else:
                route(self)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "allow_private_sources": True,
        "allowed_source_hosts": [],
        "source_cache_mb": 0,
        "min_free_disk_mb": 0,
        "fetch_backoff_seconds": 0,
        "network_timeout": 5,
        "max_file_size_mb": 1,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def spec(*elements: dict[str, Any]) -> VideoSpec:
    return VideoSpec.model_validate({"width": 64, "height": 64, "elements": list(elements)})


def image(url: str, id: str = "logo") -> dict[str, Any]:
    return {"id": id, "type": "image", "source": url}


async def local_resolver(host: str, port: int) -> list[str]:
    """Every name is this machine, as DNS rebinding or a hostile DNS record would make it."""
    return {"internal.test": ["10.0.0.1"]}.get(host, ["127.0.0.1"])


async def failing(coro: Any, code: ErrorCode, *needles: str) -> JobError:
    with pytest.raises(JobError) as caught:
        await coro
    assert caught.value.code == code, caught.value.message
    for needle in needles:
        assert needle in caught.value.message
    return caught.value


def assert_empty(directory: Path) -> None:
    assert not directory.exists() or list(directory.iterdir()) == []


# --- the happy path --------------------------------------------------------------------


async def test_fetches_sources_in_parallel(
    tmp_path: Path, server: Server, media: Media, caplog: pytest.LogCaptureFixture
) -> None:
    barrier = threading.Barrier(3, timeout=10)  # breaks (and fails the test) unless all 3 requests overlap

    def gated(h: BaseHTTPRequestHandler) -> None:
        barrier.wait()
        reply(h, media.png, Content_Type="image/png")

    for i in range(3):
        server.routes[f"/p{i}.png"] = gated
    server.routes["/song.mp3"] = lambda h: reply(h, media.mp3)
    job = spec(
        *(image(server.url(f"/p{i}.png?sig=secret"), f"img{i}") for i in range(3)),
        {"id": "music", "type": "audio", "source": server.url("/song.mp3")},
    )
    dest = tmp_path / "job"
    caplog.set_level("INFO", logger="media.fetch")
    files = await fetch_sources(job, dest, make_settings(tmp_path, fetch_concurrency=4))
    assert "fetched http://127.0.0.1" in caplog.text
    assert sorted(files) == [0, 1, 2, 3]
    assert Path(files[0].path).read_bytes() == media.png
    assert files[0].path.endswith(".png") and files[3].path.endswith(".mp3")
    assert files[0].size_bytes == len(media.png) and files[0].content_type == "image/png"
    assert "secret" not in files[0].url and "secret" not in caplog.text
    assert sorted(p.name for p in dest.iterdir()) == sorted(Path(f.path).name for f in files.values())


async def test_a_url_used_twice_is_downloaded_once(tmp_path: Path, server: Server, media: Media) -> None:
    server.routes["/v.mp4"] = lambda h: reply(h, media.mp4)
    url = server.url("/v.mp4")
    job = spec(
        {"id": "clip", "type": "video", "source": url},
        {"id": "sound", "type": "audio", "source": url},
        {"id": "again", "type": "video", "source": url},
    )
    files = await fetch_sources(job, tmp_path / "job", make_settings(tmp_path, max_file_size_mb=5))
    assert server.hits == {"/v.mp4": 1}
    assert len({f.path for f in files.values()}) == 3
    assert all(Path(f.path).read_bytes() == media.mp4 for f in files.values())


async def test_a_shared_url_that_does_not_fit_the_second_element_fails_it(
    tmp_path: Path, server: Server, media: Media
) -> None:
    server.routes["/a.png"] = lambda h: reply(h, media.png)
    url = server.url("/a.png")
    job = spec(image(url), {"id": "music", "type": "audio", "source": url})
    await failing(
        fetch_sources(job, tmp_path / "job", make_settings(tmp_path)), ErrorCode.INVALID_INPUT, "music"
    )
    assert_empty(tmp_path / "job")


async def test_connects_to_the_checked_address_with_the_hostname(
    tmp_path: Path, server: Server, media: Media
) -> None:
    server.routes["/a.png"] = lambda h: reply(h, media.png)
    calls: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    job = spec(image(f"http://media.test:{server.port}/a.png"))
    await fetch_sources(job, tmp_path / "job", make_settings(tmp_path), resolver=resolver)
    assert calls == ["media.test"]  # resolved once, by the guard; the system resolver never knew the name
    assert server.hosts == [f"media.test:{server.port}"]


async def test_font_urls_of_text_elements_are_fetched(tmp_path: Path, server: Server) -> None:
    font = b"\x00\x01\x00\x00" + bytes(60)
    server.routes["/brand.ttf"] = lambda h: reply(h, font)
    job = spec(
        {"type": "text", "text": "hi", "font_family": server.url("/brand.ttf")},
        {"type": "text", "text": "hi", "font_family": "Roboto:style=Bold"},
    )
    assert [w.kind for w in wanted_sources(job)] == ["font"]
    files = await fetch_sources(job, tmp_path / "job", make_settings(tmp_path))
    assert Path(files[font_key(0)].path).read_bytes() == font and list(files) == [font_key(0)]


async def test_font_urls_of_subtitles_are_fetched_beside_their_cues(tmp_path: Path, server: Server) -> None:
    font = b"OTTO" + bytes(60)
    server.routes["/talk.srt"] = lambda h: reply(h, b"1\n00:00:00,500 --> 00:00:01,500\nHi\n")
    server.routes["/brand.otf"] = lambda h: reply(h, font)
    server.routes["/fake.otf"] = lambda h: reply(h, b"<html>not a font</html>")
    subtitles = {
        "type": "subtitles",
        "source": server.url("/talk.srt"),
        "font_family": server.url("/brand.otf"),
    }
    job = spec(subtitles)
    assert [(w.kind, w.key) for w in wanted_sources(job)] == [("subtitles", 0), ("font", font_key(0))]
    files = await fetch_sources(job, tmp_path / "job", make_settings(tmp_path))
    assert Path(files[font_key(0)].path).read_bytes() == font and Path(files[0].path).name == "src_000"
    with pytest.raises(JobError) as caught:
        bad = {
            "type": "subtitles",
            "cues": [{"start": 0, "end": 1, "text": "Hi"}],
            "font_family": server.url("/fake.otf"),
        }
        await fetch_sources(spec(bad), tmp_path / "bad", make_settings(tmp_path))
    assert caught.value.code == ErrorCode.INVALID_INPUT and "font" in caught.value.message


async def test_small_inline_data_image(tmp_path: Path, media: Media) -> None:
    url = "data:image/png;base64," + base64.b64encode(media.png).decode()
    files = await fetch_sources(spec(image(url)), tmp_path / "job", make_settings(tmp_path))
    assert Path(files[0].path).read_bytes() == media.png


async def test_redirects_are_followed_up_to_the_limit(tmp_path: Path, server: Server, media: Media) -> None:
    server.routes["/r0"] = lambda h: reply(h, media.png)
    for i in range(1, 7):
        server.routes[f"/r{i}"] = redirect(f"/r{i - 1}", 301 if i % 2 else 307)
    settings = make_settings(tmp_path)
    await fetch_sources(spec(image(server.url("/r5"))), tmp_path / "ok", settings)
    await failing(
        fetch_sources(spec(image(server.url("/r6"))), tmp_path / "job", settings),
        ErrorCode.SOURCE_DOWNLOAD_FAILED,
        "logo",
        "more than 5",
    )
    assert_empty(tmp_path / "job")


# --- TLS to a pinned address --------------------------------------------------------


@dataclass
class Tls:
    server: Server
    client_context: ssl.SSLContext
    sni: list[str | None]


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[Tls]:
    """HTTPS on 127.0.0.1 with a self-signed certificate for media.test only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "media.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("media.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    sni: list[str | None] = []
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    server_context.sni_callback = lambda sock, server_name, ctx: sni.append(server_name)  # type: ignore[assignment]
    client_context = ssl.create_default_context(cafile=str(cert_file))
    for state in serve(server_context):
        yield Tls(state, client_context, sni)


@pytest.fixture
def trusting(monkeypatch: pytest.MonkeyPatch, tls_server: Tls) -> None:
    """Make the fetcher's client trust the test certificate (it takes no verify argument)."""
    original = httpx.AsyncClient

    def client(**kwargs: Any) -> httpx.AsyncClient:
        return original(verify=tls_server.client_context, **kwargs)

    monkeypatch.setattr(httpx, "AsyncClient", client)


@pytest.mark.usefixtures("trusting")
async def test_https_goes_to_the_pinned_address_with_sni_and_verifies_the_name(
    tmp_path: Path, tls_server: Tls, media: Media
) -> None:
    tls_server.server.routes["/a.png"] = lambda h: reply(h, media.png)
    port = tls_server.server.port
    job = spec(image(f"https://media.test:{port}/a.png"))
    files = await fetch_sources(job, tmp_path / "job", make_settings(tmp_path), resolver=local_resolver)
    assert Path(files[0].path).read_bytes() == media.png
    assert tls_server.sni == ["media.test"] and tls_server.server.hosts == [f"media.test:{port}"]
    # Same address, another name: the certificate does not cover it, so the fetch must fail.
    job = spec(image(f"https://other.test:{port}/a.png"))
    await failing(
        fetch_sources(job, tmp_path / "job2", make_settings(tmp_path), resolver=local_resolver),
        ErrorCode.SOURCE_DOWNLOAD_FAILED,
        "logo",
    )
    assert tls_server.server.hits == {"/a.png": 1}


# --- SSRF ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/a.png",
        "http://[::1]:{port}/a.png",
        "http://0x7f000001:{port}/a.png",
        "http://2130706433:{port}/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://internal.test/a.png",
        "http://localhost:{port}/a.png",
    ],
)
async def test_private_targets_are_refused(tmp_path: Path, server: Server, url: str) -> None:
    settings = make_settings(tmp_path, allow_private_sources=False)
    job = spec(image(url.format(port=server.port)))
    await failing(
        fetch_sources(job, tmp_path / "job", settings, resolver=local_resolver),
        ErrorCode.INVALID_INPUT,
        "logo",
    )
    assert server.hits == {}
    assert_empty(tmp_path / "job")


@pytest.mark.parametrize("location", ["http://127.0.0.1:{port}/a.png", "http://internal.test/a.png"])
async def test_redirect_hops_are_rechecked(
    tmp_path: Path, server: Server, media: Media, location: str
) -> None:
    """A host we trust (ALLOWED_SOURCE_HOSTS) redirecting to loopback or to a private name is refused."""
    server.routes["/a.png"] = lambda h: reply(h, media.png)
    server.routes["/jump"] = redirect(location.format(port=server.port))
    settings = make_settings(tmp_path, allow_private_sources=False, allowed_source_hosts="cdn.test")
    job = spec(image(f"http://cdn.test:{server.port}/jump"))
    await failing(
        fetch_sources(job, tmp_path / "job", settings, resolver=local_resolver),
        ErrorCode.INVALID_INPUT,
        "logo",
        "points to a",
    )
    assert server.hits == {"/jump": 1}


async def test_garbage_answers_fail_cleanly(tmp_path: Path, server: Server) -> None:
    def garbage(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 302 Found\r\nLocation: http://[bad\r\nContent-Length: 0\r\n\r\n")
        h.close_connection = True

    server.routes["/bad-location"] = garbage
    await failing(
        fetch_sources(spec(image(server.url("/bad-location"))), tmp_path / "job", make_settings(tmp_path)),
        ErrorCode.SOURCE_DOWNLOAD_FAILED,
        "logo",
    )
    assert_empty(tmp_path / "job")


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://x.test/a.png"])
async def test_redirect_to_other_schemes_is_refused(tmp_path: Path, server: Server, location: str) -> None:
    server.routes["/jump"] = redirect(location)
    await failing(
        fetch_sources(spec(image(server.url("/jump"))), tmp_path / "job", make_settings(tmp_path)),
        ErrorCode.INVALID_INPUT,
        "scheme",
    )


@pytest.mark.parametrize(
    "source",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.png",
        "gopher://example.com/",
        "data:text/plain;base64,aGk=",
        "data:image/svg+xml;base64,PHN2Zy8+",
        "/etc/passwd",
    ],
)
async def test_other_schemes_are_refused(tmp_path: Path, source: str) -> None:
    await failing(
        fetch_sources(spec(image(source)), tmp_path / "job", make_settings(tmp_path)),
        ErrorCode.INVALID_INPUT,
        "logo",
    )


async def test_data_urls_only_for_images(tmp_path: Path, media: Media) -> None:
    url = "data:image/png;base64," + base64.b64encode(media.png).decode()
    job = spec({"id": "clip", "type": "video", "source": url})
    await failing(
        fetch_sources(job, tmp_path / "job", make_settings(tmp_path)), ErrorCode.INVALID_INPUT, "clip"
    )


# --- limits ----------------------------------------------------------------------------


def oversized(h: BaseHTTPRequestHandler, *, length: str | None, chunked: bool = False) -> None:
    """1 MB-limit breaker: 3 MB of body whatever the headers say."""
    h.send_response(200)
    if length is not None:
        h.send_header("Content-Length", length)
    if chunked:
        h.send_header("Transfer-Encoding", "chunked")
    h.send_header("Connection", "close")
    h.end_headers()
    block = b"\x89PNG" + bytes(64 * 1024 - 4)
    try:
        for _ in range(48):
            h.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
    except OSError:
        pass  # the client hung up, as it should


@pytest.mark.parametrize(
    "route",
    [
        pytest.param(lambda h: oversized(h, length=None), id="no-length"),
        pytest.param(lambda h: oversized(h, length=None, chunked=True), id="chunked"),
        pytest.param(lambda h: oversized(h, length=str(50 * 1024 * 1024)), id="honest-length"),
    ],
)
async def test_file_size_limit_is_enforced_while_streaming(
    tmp_path: Path, server: Server, route: Route
) -> None:
    server.routes["/big.png"] = route
    await failing(
        fetch_sources(spec(image(server.url("/big.png"))), tmp_path / "job", make_settings(tmp_path)),
        ErrorCode.INVALID_INPUT,
        "logo",
        "1 MB",
    )
    assert_empty(tmp_path / "job")


async def test_lying_content_length_never_lets_more_through(tmp_path: Path, server: Server) -> None:
    """Content-Length says 1 KB, the body is 3 MB: at most the declared bytes are read, and the
    stump is refused as media, never passed on."""
    server.routes["/big.png"] = lambda h: oversized(h, length="1024")
    await failing(
        fetch_sources(spec(image(server.url("/big.png"))), tmp_path / "job", make_settings(tmp_path)),
        ErrorCode.INVALID_INPUT,
        "logo",
    )
    assert_empty(tmp_path / "job")


async def test_job_total_is_enforced(tmp_path: Path, server: Server, media: Media) -> None:
    server.routes["/b.bmp"] = lambda h: reply(h, media.bmp)  # ~600 KB each
    job = spec(*(image(server.url(f"/b.bmp?{i}"), f"img{i}") for i in range(3)))
    settings = make_settings(tmp_path, max_job_sources_mb=1.5, fetch_concurrency=1)
    await failing(fetch_sources(job, tmp_path / "job", settings), ErrorCode.INVALID_INPUT, "in total")
    assert_empty(tmp_path / "job")


async def test_low_disk_fails_before_downloading(tmp_path: Path, server: Server, media: Media) -> None:
    server.routes["/a.png"] = lambda h: reply(h, media.png)
    settings = make_settings(tmp_path, min_free_disk_mb=1e12)
    await failing(
        fetch_sources(spec(image(server.url("/a.png"))), tmp_path / "job", settings),
        ErrorCode.INSUFFICIENT_STORAGE,
        "logo",
    )
    assert server.hits == {}


# --- retries and timeouts --------------------------------------------------------------


async def test_5xx_is_retried_then_succeeds(tmp_path: Path, server: Server, media: Media) -> None:
    def flaky(h: BaseHTTPRequestHandler) -> None:
        if server.hits["/a.png"] < 3:
            reply(h, b"busy", 503)
        else:
            reply(h, media.png)

    server.routes["/a.png"] = flaky
    await fetch_sources(spec(image(server.url("/a.png"))), tmp_path / "job", make_settings(tmp_path))
    assert server.hits["/a.png"] == 3


async def test_5xx_gives_up_after_retries(tmp_path: Path, server: Server) -> None:
    server.routes["/a.png"] = lambda h: reply(h, b"down", 500)
    settings = make_settings(tmp_path, fetch_retries=2)
    await failing(
        fetch_sources(spec(image(server.url("/a.png"))), tmp_path / "job", settings),
        ErrorCode.SOURCE_DOWNLOAD_FAILED,
        "logo",
        "3 times",
    )
    assert server.hits["/a.png"] == 3


@pytest.mark.parametrize("status", [400, 403, 404, 410, 429])
async def test_4xx_fails_at_once(tmp_path: Path, server: Server, status: int) -> None:
    server.routes["/a.png"] = lambda h: reply(h, b"no", status)
    url = server.url("/a.png?X-Amz-Signature=topsecret")
    error = await failing(
        fetch_sources(spec(image(url)), tmp_path / "job", make_settings(tmp_path)),
        ErrorCode.SOURCE_DOWNLOAD_FAILED,
        f"HTTP {status}",
    )
    assert server.hits["/a.png"] == 1
    assert "topsecret" not in error.message and "topsecret" not in str(error.details)


async def test_connection_reset_is_retried(tmp_path: Path, server: Server, media: Media) -> None:
    def reset_first(h: BaseHTTPRequestHandler) -> None:
        if server.hits["/a.png"] == 1:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            h.close_connection = True
        else:
            reply(h, media.png)

    server.routes["/a.png"] = reset_first
    await fetch_sources(spec(image(server.url("/a.png"))), tmp_path / "job", make_settings(tmp_path))
    assert server.hits["/a.png"] == 2


async def test_read_timeout_is_network_timeout(tmp_path: Path, server: Server) -> None:
    def stall(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.wfile.write(b"\x89PNG")
        h.wfile.flush()
        server.release.wait(30)

    server.routes["/a.png"] = stall
    settings = make_settings(tmp_path, network_timeout=0.3)
    await failing(
        fetch_sources(spec(image(server.url("/a.png"))), tmp_path / "job", settings),
        ErrorCode.NETWORK_TIMEOUT,
        "logo",
    )
    assert_empty(tmp_path / "job")


async def test_slow_drip_hits_the_total_deadline(tmp_path: Path, server: Server) -> None:
    def drip(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.end_headers()
        try:
            while not server.release.wait(0.05):
                h.wfile.write(b"\0")
                h.wfile.flush()
        except OSError:
            pass

    server.routes["/a.png"] = drip
    settings = make_settings(tmp_path, fetch_total_timeout_seconds=0.3)
    await failing(
        fetch_sources(spec(image(server.url("/a.png"))), tmp_path / "job", settings),
        ErrorCode.NETWORK_TIMEOUT,
        "FETCH_TOTAL_TIMEOUT_SECONDS",
    )
    assert_empty(tmp_path / "job")


async def test_cancel_removes_partial_files(tmp_path: Path, server: Server, media: Media) -> None:
    def stall(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.end_headers()
        h.wfile.write(media.mp4[:1000])
        h.wfile.flush()
        server.arrived.set()
        server.release.wait(30)

    server.routes["/v.mp4"] = stall
    server.routes["/a.png"] = lambda h: reply(h, media.png)
    job = spec(image(server.url("/a.png")), {"id": "clip", "type": "video", "source": server.url("/v.mp4")})
    task = asyncio.create_task(fetch_sources(job, tmp_path / "job", make_settings(tmp_path)))
    assert await asyncio.to_thread(server.arrived.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_empty(tmp_path / "job")


# --- screening through the fetcher -----------------------------------------------------


async def test_hls_playlist_naming_local_files_is_refused(tmp_path: Path, server: Server) -> None:
    playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXTINF:1,\n/etc/passwd\n"
    server.routes["/live.m3u8"] = lambda h: reply(h, playlist, Content_Type="application/vnd.apple.mpegurl")
    job = spec({"id": "clip", "type": "video", "source": server.url("/live.m3u8")})
    await failing(
        fetch_sources(job, tmp_path / "job", make_settings(tmp_path)), ErrorCode.INVALID_INPUT, "clip"
    )
    assert_empty(tmp_path / "job")


async def test_decompression_bomb_and_truncated_video_are_refused(
    tmp_path: Path, server: Server, media: Media
) -> None:
    server.routes["/bomb.png"] = lambda h: reply(h, bomb_png(30000, 30000))
    server.routes["/cut.mp4"] = lambda h: reply(h, media.mp4[: len(media.mp4) // 2])
    settings = make_settings(tmp_path)
    await failing(
        fetch_sources(spec(image(server.url("/bomb.png"))), tmp_path / "a", settings),
        ErrorCode.INVALID_INPUT,
        "logo",
        "30000x30000",
    )
    job = spec({"id": "clip", "type": "video", "source": server.url("/cut.mp4")})
    await failing(fetch_sources(job, tmp_path / "b", settings), ErrorCode.INVALID_INPUT, "clip", "truncated")
    assert_empty(tmp_path / "a")
    assert_empty(tmp_path / "b")


async def test_wrong_type_for_element(tmp_path: Path, server: Server, media: Media) -> None:
    server.routes["/song.mp3"] = lambda h: reply(h, media.mp3, Content_Type="image/png")
    await failing(
        fetch_sources(spec(image(server.url("/song.mp3"))), tmp_path / "job", make_settings(tmp_path)),
        ErrorCode.INVALID_INPUT,
        "logo",
        "audio",
    )


# --- cache -----------------------------------------------------------------------------


async def test_cached_source_is_revalidated_not_downloaded_again(
    tmp_path: Path, server: Server, media: Media
) -> None:
    bodies = 0

    def with_etag(h: BaseHTTPRequestHandler) -> None:
        nonlocal bodies
        if h.headers.get("If-None-Match") == '"v1"':
            reply(h, b"", 304, ETag='"v1"')
        else:
            bodies += 1
            reply(h, media.png, ETag='"v1"', Content_Type="image/png")

    server.routes["/logo.png"] = with_etag
    settings = make_settings(tmp_path)
    cache = SourceCache(tmp_path / "cache", 10 * 1024 * 1024)
    job = spec(image(server.url("/logo.png")))
    first = await fetch_sources(job, tmp_path / "j1", settings, cache=cache)
    second = await fetch_sources(job, tmp_path / "j2", settings, cache=cache)
    assert bodies == 1 and server.hits["/logo.png"] == 2
    assert Path(second[0].path).read_bytes() == media.png
    assert Path(first[0].path).stat().st_ino == Path(second[0].path).stat().st_ino  # a link, not a copy
    assert second[0].content_type == "image/png"


# --- s3:// -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    try:
        client = boto3.client(
            "s3",
            endpoint_url=f"http://{host}:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        client.create_bucket(Bucket="media-in")
        yield client
    finally:
        moto.stop()


async def test_s3_sources(tmp_path: Path, s3: Any, media: Media) -> None:
    s3.put_object(Bucket="media-in", Key="clips/a.mp4", Body=media.mp4)
    settings = make_settings(tmp_path, source_s3_buckets="media-in", max_file_size_mb=5)
    job = spec({"id": "clip", "type": "video", "source": "s3://media-in/clips/a.mp4"})
    files = await fetch_sources(job, tmp_path / "job", settings, s3_client=s3)
    assert Path(files[0].path).read_bytes() == media.mp4 and files[0].path.endswith(".mp4")


@pytest.mark.parametrize(
    ("source", "code", "needle"),
    [
        ("s3://media-in/missing.mp4", ErrorCode.SOURCE_DOWNLOAD_FAILED, "does not exist"),
        ("s3://other-bucket/a.mp4", ErrorCode.INVALID_INPUT, "not open to sources"),
        ("s3://media-in", ErrorCode.INVALID_INPUT, "s3://bucket/key"),
    ],
)
async def test_s3_failures(tmp_path: Path, s3: Any, source: str, code: ErrorCode, needle: str) -> None:
    settings = make_settings(tmp_path, source_s3_buckets="media-in")
    job = spec({"id": "clip", "type": "video", "source": source})
    await failing(fetch_sources(job, tmp_path / "job", settings, s3_client=s3), code, "clip", needle)
    assert_empty(tmp_path / "job")


async def test_s3_sources_are_cached_by_etag(tmp_path: Path, s3: Any, media: Media) -> None:
    s3.put_object(Bucket="media-in", Key="logo.png", Body=media.png)
    settings = make_settings(tmp_path, source_s3_buckets="media-in")
    cache = SourceCache(tmp_path / "cache", 10 * 1024 * 1024)
    job = spec(image("s3://media-in/logo.png"))
    first = await fetch_sources(job, tmp_path / "j1", settings, s3_client=s3, cache=cache)
    second = await fetch_sources(job, tmp_path / "j2", settings, s3_client=s3, cache=cache)
    assert Path(first[0].path).stat().st_ino == Path(second[0].path).stat().st_ino
    s3.put_object(Bucket="media-in", Key="logo.png", Body=media.bmp)  # changed: new ETag
    third = await fetch_sources(job, tmp_path / "j3", settings, s3_client=s3, cache=cache)
    assert Path(third[0].path).read_bytes() == media.bmp


async def test_s3_size_limit(tmp_path: Path, s3: Any) -> None:
    s3.put_object(Bucket="media-in", Key="big.mp4", Body=b"\0" * (2 * 1024 * 1024))
    settings = make_settings(tmp_path, source_s3_buckets="media-in")
    job = spec({"id": "clip", "type": "video", "source": "s3://media-in/big.mp4"})
    await failing(
        fetch_sources(job, tmp_path / "job", settings, s3_client=s3), ErrorCode.INVALID_INPUT, "1 MB"
    )
    assert_empty(tmp_path / "job")


async def test_s3_copy_of_a_multipart_object_is_readable(
    tmp_path: Path, s3: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The reported INTERNAL_ERROR: moto gives a server-side copy of a multipart object the source's
    composite CRC32 as a plain one, which botocore >= 1.36 validates by default and rejects
    (FlexibleChecksumError). The worker's client validates checksums only when S3 requires it."""
    wav = tmp_path_factory.mktemp("wav") / "long.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=36", "-ac", "2", str(wav))  # ~6 MB: two parts
    part = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_file(str(wav), "media-in", "multi.wav", Config=part)  # as a user's default client does
    s3.copy_object(Bucket="media-in", Key="copied.wav", CopySource={"Bucket": "media-in", "Key": "multi.wav"})
    settings = make_settings(
        tmp_path,
        source_s3_buckets="media-in",
        max_file_size_mb=20,
        s3_endpoint_url=s3.meta.endpoint_url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    job = spec({"id": "music", "type": "audio", "source": "s3://media-in/copied.wav"})
    files = await fetch_sources(job, tmp_path / "job", settings, s3_client=s3_client(settings))
    assert Path(files[0].path).read_bytes() == wav.read_bytes()


class Body:
    """A GetObject body: `data`, or `error` raised on the first read."""

    def __init__(self, data: bytes, error: Exception | None = None) -> None:
        self.stream = io.BytesIO(data)
        self.error = error

    def read(self, n: int) -> bytes:
        if self.error is not None:
            raise self.error
        return self.stream.read(n)

    def close(self) -> None:
        pass


class ScriptedS3:
    """An S3 client whose GetObject fails per `script` (an exception to raise, or to raise from the
    body's first read), then serves `data`."""

    def __init__(self, data: bytes, *script: tuple[str, Exception]) -> None:
        self.data = data
        self.script = list(script)
        self.gets = 0

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        self.gets += 1
        where, error = self.script.pop(0) if self.script else ("", None)
        if where == "get" and error is not None:
            raise error
        body = Body(self.data, error if where == "read" else None)
        return {"Body": body, "ContentLength": len(self.data), "ContentType": "image/png", "ETag": '"e"'}


def client_error(code: str, status: int) -> boto.ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "..."},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return boto.ClientError(response, "GetObject")


RETRIED = 3  # make_settings keeps FETCH_RETRIES=2


@pytest.mark.parametrize(
    ("where", "error", "code", "gets", "needles"),
    [
        ("get", client_error("NoSuchKey", 404), ErrorCode.SOURCE_DOWNLOAD_FAILED, 1, ["does not exist"]),
        ("get", client_error("404", 404), ErrorCode.SOURCE_DOWNLOAD_FAILED, 1, ["does not exist"]),
        ("get", client_error("NoSuchBucket", 404), ErrorCode.SOURCE_DOWNLOAD_FAILED, 1, ["missing bucket"]),
        (
            "get",
            client_error("AccessDenied", 403),
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            1,
            ["access denied", "grant the worker's credentials s3:GetObject", "make the source public"],
        ),
        ("get", client_error("403", 403), ErrorCode.SOURCE_DOWNLOAD_FAILED, 1, ["access denied"]),
        (
            "get",
            client_error("InvalidAccessKeyId", 403),
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            1,
            ["refused the worker's credentials", "operator"],
        ),
        (
            "get",
            boto.NoCredentialsError(),
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            1,
            ["no usable S3 credentials", "AWS_ACCESS_KEY_ID"],
        ),
        (
            "get",
            client_error("InternalError", 500),
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            RETRIED,
            ["failed 3 times", "S3 answered InternalError", "retry"],
        ),
        (
            "get",
            client_error("SlowDown", 503),
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            RETRIED,
            ["failed 3 times", "SlowDown"],
        ),
        (
            "get",
            boto.EndpointConnectionError(endpoint_url="http://s3.internal:9000"),
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            RETRIED,
            ["S3 could not be reached", "retry later"],
        ),
        (
            "read",
            boto.FlexibleChecksumError(
                error_msg="Expected checksum TCHBlg== did not match calculated checksum: p1jU1Q=="
            ),
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            RETRIED,
            ["corrupted in transit", "checksum mismatch", "retry the job"],
        ),
        (
            "read",
            boto.ResponseStreamingError(error="Connection broken"),
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            RETRIED,
            ["dropped mid-download", "retry the job"],
        ),
        (
            "read",
            boto.IncompleteReadError(actual_bytes=10, expected_bytes=100),
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            RETRIED,
            ["dropped mid-download"],
        ),
        (
            "read",
            boto.ReadTimeoutError(endpoint_url="http://s3.internal:9000"),
            ErrorCode.NETWORK_TIMEOUT,
            1,
            ["timed out", "retry the job"],
        ),
        (
            "get",
            boto.ConnectTimeoutError(endpoint_url="http://s3.internal:9000"),
            ErrorCode.NETWORK_TIMEOUT,
            1,
            ["timed out"],
        ),
        (
            "get",
            boto.ParamValidationError(report="bad key"),
            ErrorCode.SOURCE_DOWNLOAD_FAILED,
            1,
            ["could not be read (ParamValidationError)"],
        ),
    ],
)
async def test_s3_failures_map_to_actionable_errors(
    tmp_path: Path, where: str, error: Exception, code: ErrorCode, gets: int, needles: list[str]
) -> None:
    client = ScriptedS3(b"", *[(where, error)] * 5)
    settings = make_settings(tmp_path, source_s3_buckets="media-in")
    job = spec(image("s3://media-in/logo.png", id="logo"))
    failure = await failing(
        fetch_sources(job, tmp_path / "job", settings, s3_client=client),
        code,
        "logo",
        "s3://media-in/logo.png",
        *needles,
    )
    assert client.gets == gets, failure.message
    assert failure.details["element"] == "logo"
    assert_empty(tmp_path / "job")


async def test_s3_checksum_mismatch_is_retried_then_succeeds(tmp_path: Path, media: Media) -> None:
    mismatch = boto.FlexibleChecksumError(
        error_msg="Expected checksum a did not match calculated checksum: b"
    )
    client = ScriptedS3(media.png, ("read", mismatch), ("get", client_error("ServiceUnavailable", 503)))
    settings = make_settings(tmp_path, source_s3_buckets="media-in")
    files = await fetch_sources(
        spec(image("s3://media-in/logo.png")), tmp_path / "job", settings, s3_client=client
    )
    assert client.gets == 3 and Path(files[0].path).read_bytes() == media.png
    assert sorted(p.name for p in (tmp_path / "job").iterdir()) == ["src_000.png"]  # no .part left


@pytest.mark.parametrize(
    ("err", "code", "needle"),
    [
        (errno.ENOSPC, ErrorCode.INSUFFICIENT_STORAGE, "out of disk space"),
        (errno.EIO, ErrorCode.SOURCE_DOWNLOAD_FAILED, "could not be saved on the worker"),
    ],
)
async def test_disk_write_errors_are_not_internal_errors(
    tmp_path: Path,
    server: Server,
    media: Media,
    monkeypatch: pytest.MonkeyPatch,
    err: int,
    code: ErrorCode,
    needle: str,
) -> None:
    real_open = Path.open

    class Broken:
        def __init__(self, file: Any) -> None:
            self.file = file

        def write(self, data: bytes) -> int:
            raise OSError(err, os.strerror(err))

        def close(self) -> None:
            self.file.close()

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        file = real_open(self, *args, **kwargs)
        return Broken(file) if self.name.endswith(".part") else file

    monkeypatch.setattr(Path, "open", open_)
    server.routes["/a.png"] = lambda h: reply(h, media.png)
    await failing(
        fetch_sources(spec(image(server.url("/a.png"))), tmp_path / "job", make_settings(tmp_path)),
        code,
        "logo",
        needle,
    )
    assert server.hits["/a.png"] == 1
    assert_empty(tmp_path / "job")


async def test_subtitles_files_are_fetched_as_text_and_screened(tmp_path: Path, server: Server) -> None:
    srt = b"1\n00:00:00,500 --> 00:00:01,500\n{\\an8}<font color=red>Hi</font>\n"
    server.routes["/talk.srt"] = lambda h: reply(h, srt, Content_Type="application/x-subrip")
    server.routes["/bad.srt"] = lambda h: reply(h, b"1\n00:00:00,500 --> 00:00:01,500\nHi\n\n2\nnonsense\n")
    job = spec({"type": "subtitles", "source": server.url("/talk.srt")})
    assert [(w.kind, w.url) for w in wanted_sources(job)] == [("subtitles", server.url("/talk.srt"))]
    files = await fetch_sources(job, tmp_path / "job", make_settings(tmp_path))
    assert Path(files[0].path).read_bytes() == srt
    with pytest.raises(JobError) as caught:
        await fetch_sources(
            spec({"type": "subtitles", "source": server.url("/bad.srt")}),
            tmp_path / "bad",
            make_settings(tmp_path),
        )
    assert caught.value.code is ErrorCode.INVALID_INPUT and "line 6" in caught.value.message
    assert not list((tmp_path / "bad").iterdir())  # a refused file is not left behind
