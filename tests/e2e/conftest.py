"""The embedded stack for end-to-end tests: the real `videogen up` (Tansu broker, moto_server,
worker, API) on free ports, and a local HTTP server serving media generated with lavfi."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
import pytest
from playwright.sync_api import Browser

from tests.e2e.browser import launched_browser
from tests.media import make_color_image, make_color_video, make_noise_video

pytestmark = pytest.mark.e2e

STACK_START_TIMEOUT = 150.0
CALLBACK_SECRET = "e2e-callback-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningStack:
    api: str
    bootstrap: str
    s3_endpoint: str
    bucket: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    def s3(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="videogen-local",
            aws_secret_access_key="videogen-local-secret",
        )

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, timeout=httpx.Timeout(10.0, read=120.0))


def _log_tail(data_dir: Path) -> str:
    parts = []
    for log in sorted((data_dir / "logs").glob("*.log")):
        parts.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:]))
    return "\n".join(parts)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    data_dir = tmp_path_factory.mktemp("stack")
    ports = {name: free_port() for name in ("api", "broker", "s3", "worker", "analytics")}
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "S3_", "AWS_", "CLICKHOUSE"))},
        "PORT": str(ports["api"]),
        "EMBEDDED_BROKER_PORT": str(ports["broker"]),
        "EMBEDDED_S3_PORT": str(ports["s3"]),
        "WORKER_WEB_PORT": str(ports["worker"]),
        "ANALYTICS_PORT": str(ports["analytics"]),
        "DATA_DIR": str(data_dir),
        # Private addresses stay refused; only the test media server's literal host is let through,
        # so SSRF attempts in the tests meet the same guard as in production.
        "ALLOWED_SOURCE_HOSTS": "127.0.0.1",
        "KAFKA_TOPIC_PARTITIONS": "2",
        "MAX_CONCURRENT_JOBS": "1",
        "FFMPEG_THREADS": "2",
        "QUICK_RESPONSE_THRESHOLD_SECONDS": "30",
        "LOG_LEVEL": "INFO",
        "CALLBACK_SECRET": CALLBACK_SECRET,
        "CALLBACK_RETRIES": "3",
        # The estimate stays the baseline formula, so which jobs take the quick path is deterministic.
        "ESTIMATOR_REFRESH_SECONDS": "86400",
        # Small enough for test_security's oversized download to trip it, big enough for every test video.
        "MAX_FILE_SIZE_MB": "32",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "up"],
        env=env,
        stdout=(data_dir / "up.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{ports['api']}"
    running = RunningStack(
        api=api,
        bootstrap=f"127.0.0.1:{ports['broker']}",
        s3_endpoint=f"http://127.0.0.1:{ports['s3']}",
        bucket="videogen",
        data_dir=data_dir,
        process=process,
        env=env,
    )
    deadline = time.monotonic() + STACK_START_TIMEOUT
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api}/health", timeout=1).status_code == 200:
                break
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("stack did not start:\n" + (data_dir / "up.log").read_text() + _log_tail(data_dir))
        time.sleep(0.5)
    try:
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.returncode == 0, (data_dir / "up.log").read_text()
        left = [
            line
            for line in (data_dir / "stack.pids").read_text().splitlines()
            if _alive(int(line.split()[1]))
        ]
        assert not left, f"processes left behind after Ctrl-C: {left}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class MediaServer:
    root: Path
    base: str

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


@pytest.fixture(scope="session")
def media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaServer]:
    """Test media, made with FFmpeg's lavfi sources, served over HTTP on loopback."""
    root = tmp_path_factory.mktemp("media")
    make_color_video(root / "blue.mp4", color="blue", size=(640, 360), seconds=3.0, audio=True)
    make_color_video(root / "green_long.mp4", color="green", size=(320, 240), seconds=40.0, audio=True)
    make_noise_video(root / "noise.mp4", size=(320, 180), seconds=3.0)
    make_color_image(root / "red.png", color="red", size=(200, 200))
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield MediaServer(root, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for a module's studio tests (tests.e2e.browser). Not one for the session: Playwright's
    sync API keeps its event loop running on the main thread while it is open, and every later test
    calling asyncio.run() would fail."""
    yield from launched_browser()
