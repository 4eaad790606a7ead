"""Crash recovery: a worker SIGKILLed while a job is in fetch, in render, in upload, and the stack's
own worker killed under `videogen up`; every job ends exactly once, with a good video.

The stack is the real `videogen up` (Tansu, the analytics store, its worker, the API, restarting a
dead worker) plus a second `videogen worker` that the test restarts itself. S3 is moto behind a
proxy that can hold a job's first PUT (the upload round): the held PUT still reaches S3 after the
worker that sent it is dead, as a PUT whose answer was lost would. The media server drips some
sources slowly (the fetch round). Each kill lands while the job's stage is running on the victim,
as the job's `started` events say, and the test waits for the killed worker to be back and in the
group before the next round.

In the end `videogen.jobs.events` and `videogen.jobs.results` are read to their end and S3 listed:
each job has one terminal event and one result, `completed`, and one object under processed/ of
the size the result gives, which decodes to the asked dimensions and duration; no stage finished
twice; no worker died without being killed. A job that has not ended when nothing has happened for
STALL_SECONDS is lost: the failure shows its events and where its stage messages sit against the
group's committed offsets. Recovery times and restarted stages are printed (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.client
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from bench.chaos import EventTail, Expected, Kill, judge, recoveries, where
from deploy.embedded import EMBEDDED_AWS_KEY, EMBEDDED_AWS_SECRET, Child, Stack, http_ok, start_worker
from schemas.settings import Settings
from tests.e2e.conftest import STACK_START_TIMEOUT, free_port
from tests.e2e.kafka_io import read_topic
from tests.media import make_color_image, make_color_video, make_noise_video

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

BUCKET = "videogen"
SLOW_FETCH_SECONDS = 5.0  # how long a /slow/ source takes to download
HELD_PUT_SECONDS = 5.0  # how long the proxy holds a job's first PUT
STAGE_TIMEOUT = 90.0  # the job reaches the stage of its round
END_TIMEOUT = 150.0  # the job ends after its worker was killed
BACK_TIMEOUT = 90.0  # a killed worker is back in the group
STALL_SECONDS = 45.0  # no event at all for this long: what has not ended will not


# --- media and S3 on loopback ------------------------------------------------------------------


class _MediaHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the media directory; /slow/NAME drips NAME over SLOW_FETCH_SECONDS, uncacheable."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if not self.path.startswith("/slow/"):
            super().do_GET()
            return
        name = self.path.removeprefix("/slow/").split("?", 1)[0]
        data = (Path(self.directory) / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        chunks = 25
        step = -(-len(data) // chunks)
        with contextlib.suppress(OSError):  # the worker fetching it was killed
            for start in range(0, len(data), step):
                self.wfile.write(data[start : start + step])
                self.wfile.flush()
                time.sleep(SLOW_FETCH_SECONDS / chunks)


@dataclass
class HeldPuts:
    """A proxy in front of moto that holds the first PUT of each listed job for a while."""

    upstream: str
    jobs: set[str] = field(default_factory=set)
    held: set[str] = field(default_factory=set)  # jobs whose first PUT was held (or is being held)
    holding: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, path: str) -> str | None:
        with self.lock:
            job = next((j for j in self.jobs if j in path and j not in self.held), None)
            if job is not None:
                self.held.add(job)
                self.holding.add(job)
            return job


def _proxy_handler(held: HeldPuts) -> type[http.server.BaseHTTPRequestHandler]:
    host, port = held.upstream.removeprefix("http://").split(":")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # answers Expect: 100-continue, as S3 does

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            job = held.hold(self.path) if self.command == "PUT" else None
            if job is not None:
                time.sleep(HELD_PUT_SECONDS)  # then sent on, whether its sender still lives or not
            upstream = http.client.HTTPConnection(host, int(port), timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "expect"}
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            upstream.close()
            if job is not None:
                with held.lock:
                    held.holding.discard(job)
            with contextlib.suppress(OSError):
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                length = response.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

        do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _forward

    return Handler


@contextlib.contextmanager
def serving(server: http.server.ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- the stack ---------------------------------------------------------------------------------

UP_WORKER = "up:worker"  # the worker `videogen up` started and restarts
EXTRA_WORKER = "worker2"  # the second worker, restarted by the test


@dataclass
class ChaosStack:
    data_dir: Path
    env: dict[str, str]
    up: subprocess.Popen[bytes]
    extra: Stack
    extra_worker: Child
    held: HeldPuts
    media: str
    api: str
    bootstrap: str
    s3_endpoint: str
    crashes: list[str] = field(default_factory=list)  # workers that died without being killed

    def up_worker_pid(self) -> int:
        lines = (self.data_dir / "stack.pids").read_text().splitlines()
        return [int(pid) for name, pid in (line.split() for line in lines) if name == "worker"][-1]

    def pid(self, name: str) -> int:
        if name == UP_WORKER:
            return self.up_worker_pid()
        assert self.extra_worker.process is not None
        return self.extra_worker.process.pid

    def name_of(self, worker: str) -> str:
        """The stack's name of the process that events call `worker` (hostname-pid)."""
        pid = int(worker.rsplit("-", 1)[1])
        for name in (UP_WORKER, EXTRA_WORKER):
            if self.pid(name) == pid:
                return name
        self.watch()
        raise AssertionError(f"no running worker has pid {pid}; crashes: {self.crashes}")

    def log(self, name: str) -> Path:
        return self.data_dir / "logs" / ("worker.log" if name == UP_WORKER else f"{EXTRA_WORKER}.log")

    def readies(self, name: str) -> int:
        """How often the worker's Faust app logged that it is ready (once per start, after its
        first assignment)."""
        path = self.log(name)
        return path.read_text(errors="replace").count("[^Worker]: Ready") if path.exists() else 0

    def health(self, name: str) -> str:
        port = self.env["WORKER_WEB_PORT"] if name == UP_WORKER else str(self.extra_web_port)
        return f"http://127.0.0.1:{port}/health"

    @property
    def extra_web_port(self) -> int:
        return int(self.extra_worker.env["WORKER_WEB_PORT"])

    def watch(self) -> None:
        """Note workers that died by themselves, and start the extra one again as a supervisor
        would (`videogen up` restarts its own and says so in up.log)."""
        process = self.extra_worker.process
        if process is not None and process.poll() is not None:
            self.crashes.append(f"{EXTRA_WORKER} (pid {process.pid}) exited with {process.returncode}")
            self.extra.spawn(self.extra_worker)
        for line in self.up_log().splitlines():
            if "exited with" in line and "exited with -9;" not in line and line not in self.crashes:
                self.crashes.append(line)

    def kill(self, name: str) -> tuple[int, float]:
        """SIGKILL the worker process alone (its FFmpeg dies with it); returns its pid and when."""
        self.watch()
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        at = time.time()
        if name == EXTRA_WORKER:
            assert self.extra_worker.process is not None
            self.extra_worker.process.wait(10)
        return pid, at

    def bring_back(self, name: str, old_pid: int, readies: int) -> float:
        """Restart the killed worker (the extra one here; `videogen up`'s own is restarted by its
        supervisor) and wait until it has joined the group; returns seconds until then."""
        began = time.monotonic()
        if name == EXTRA_WORKER:
            time.sleep(1.0)  # as `videogen up` does after a first crash
            self.extra.spawn(self.extra_worker)
        deadline = began + BACK_TIMEOUT
        while not (
            self.pid(name) != old_pid and http_ok(self.health(name))() and self.readies(name) > readies
        ):
            assert self.up.poll() is None, "videogen up stopped:\n" + self.up_log()
            assert time.monotonic() < deadline, f"{name} not back after {BACK_TIMEOUT:g}s\n" + self.up_log()
            time.sleep(0.2)
        return time.monotonic() - began

    def errors(self, most: int = 10) -> list[str]:
        """The workers' ERROR and CRITICAL log lines (JSON), for a failure message."""
        lines = []
        for log in sorted((self.data_dir / "logs").glob("worker*.log")):
            for line in log.read_text(errors="replace").splitlines():
                if '"level":"error"' in line or '"level":"critical"' in line:
                    lines.append(f"{log.name}: {line[:600]}")
        return lines[:most]

    def up_log(self) -> str:
        return (self.data_dir / "up.log").read_text(errors="replace")

    def post(self, spec: dict[str, Any]) -> str:
        response = httpx.post(f"{self.api}/api/v1/videocreate", json=spec, timeout=30)
        assert response.status_code == 202, response.text
        return str(response.json()["job_id"])

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id=EMBEDDED_AWS_KEY,
            aws_secret_access_key=EMBEDDED_AWS_SECRET,
        )


def _media(root: Path) -> None:
    make_color_video(root / "blue.mp4", color="blue", size=(320, 240), seconds=2.0, audio=False)
    make_noise_video(root / "noise.mp4", size=(320, 240), seconds=3.0)
    make_color_image(root / "red.png", color="red", size=(64, 64))


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosStack]:
    root = tmp_path_factory.mktemp("chaos")
    data_dir, media_dir = root / "stack", root / "media"
    media_dir.mkdir()
    _media(media_dir)
    s3_port = free_port()
    moto = Stack(Settings(data_dir=root / "moto"), env=dict(os.environ))
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(moto.stop)
        moto_url = f"http://127.0.0.1:{s3_port}"
        moto.start(
            Child(
                "s3",
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
                http_ok(f"{moto_url}/moto-api/"),
                moto_url,
            )
        )
        held = HeldPuts(moto_url)
        proxy = cleanup.enter_context(
            serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(held)))
        )
        media = cleanup.enter_context(
            serving(
                http.server.ThreadingHTTPServer(
                    ("127.0.0.1", 0), functools.partial(_MediaHandler, directory=str(media_dir))
                )
            )
        )
        ports = {name: free_port() for name in ("api", "broker", "worker", "analytics")}
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("KAFKA_", "S3_", "AWS_", "CLICKHOUSE"))
            },
            "PORT": str(ports["api"]),
            "EMBEDDED_BROKER_PORT": str(ports["broker"]),
            "WORKER_WEB_PORT": str(ports["worker"]),
            "ANALYTICS_PORT": str(ports["analytics"]),
            "DATA_DIR": str(data_dir),
            "S3_ENDPOINT_URL": proxy,
            "AWS_ACCESS_KEY_ID": EMBEDDED_AWS_KEY,
            "AWS_SECRET_ACCESS_KEY": EMBEDDED_AWS_SECRET,
            "S3_PUBLIC_URL_PREFIX": f"{moto_url}/{BUCKET}",
            "ALLOWED_SOURCE_HOSTS": "127.0.0.1",
            "KAFKA_TOPIC_PARTITIONS": "4",
            "MAX_CONCURRENT_JOBS": "1",
            "FFMPEG_THREADS": "1",
            "QUICK_RESPONSE_THRESHOLD_SECONDS": "0",  # every POST answers 202 at once
            "ESTIMATOR_REFRESH_SECONDS": "86400",
            "LOG_LEVEL": "INFO",
        }
        data_dir.mkdir()
        up = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "up"],
            env=env,
            stdout=(data_dir / "up.log").open("wb"),
            stderr=subprocess.STDOUT,
        )

        def stop_up() -> None:
            up.send_signal(signal.SIGINT)
            try:
                up.wait(30)
            except subprocess.TimeoutExpired:
                up.kill()
                up.wait()

        cleanup.callback(stop_up)
        api = f"http://127.0.0.1:{ports['api']}"
        deadline = time.monotonic() + STACK_START_TIMEOUT
        while not http_ok(f"{api}/health")():
            assert up.poll() is None and time.monotonic() < deadline, (
                "videogen up did not start:\n" + (data_dir / "up.log").read_text()
            )
            time.sleep(0.5)
        bootstrap = f"127.0.0.1:{ports['broker']}"
        extra = Stack(Settings(data_dir=data_dir), env={**env, "KAFKA_BOOTSTRAP_SERVERS": bootstrap})
        cleanup.callback(extra.stop)
        worker = start_worker(extra, extra.settings, EXTRA_WORKER, free_port())
        running = ChaosStack(data_dir, env, up, extra, worker, held, media, api, bootstrap, moto_url)
        deadline = time.monotonic() + BACK_TIMEOUT
        while running.readies(EXTRA_WORKER) < 1:  # both workers in the group before any kill
            assert time.monotonic() < deadline, f"{EXTRA_WORKER} never joined the group"
            time.sleep(0.2)
        yield running


# --- the jobs ----------------------------------------------------------------------------------


def slow_fetch_job(media: str) -> dict[str, Any]:
    return {
        "output_format": "mp4",
        "width": 320,
        "height": 240,
        "duration": 2,
        "elements": [{"type": "video", "source": f"{media}/slow/blue.mp4?{uuid.uuid4().hex}"}],
    }


def noise_job(media: str, seconds: float) -> dict[str, Any]:
    """Random pixels looped: a few seconds of FFmpeg on one thread, a small file at CRF 51."""
    return {
        "output_format": "mp4",
        "width": 320,
        "height": 240,
        "duration": seconds,
        "crf": 51,
        "elements": [
            {"type": "video", "source": f"{media}/noise.mp4", "duration_mode": "loop"},
            {"type": "text", "text": uuid.uuid4().hex[:8], "font_size": 24, "color": "#ffffff"},
        ],
    }


def small_job(media: str, n: int) -> dict[str, Any]:
    return {
        "output_format": "mp4",
        "width": 320,
        "height": 240,
        "duration": 1,
        "elements": [
            {"type": "color", "color": "#203040"},
            {"type": "image", "source": f"{media}/red.png", "x": n % 250, "y": 8, "width": 32, "height": 32},
        ],
    }


def expected_of(spec: dict[str, Any]) -> Expected:
    return Expected(int(spec["width"]), int(spec["height"]), float(spec["duration"]))


@dataclass
class Round:
    stage: str  # where the kill is meant to land
    job_id: str
    victim: str
    kill: Kill
    attempt: str  # the victim's attempt of the stage the kill interrupted
    back_after: float = 0.0


def kill_in_stage(
    chaos: ChaosStack,
    tail: EventTail,
    stage: str,
    job_id: str,
    busy: Callable[[], bool] = lambda: True,
) -> Round:
    """Wait until the job has started `stage` (and `busy()` says the work is under way), SIGKILL
    the worker running it, bring that worker back and wait for the job to end."""
    event = tail.wait_for(
        lambda e: e["job_id"] == job_id and e["stage"] == stage and e.get("stage_status") == "started",
        STAGE_TIMEOUT,
    )
    assert event is not None, f"{job_id} did not start {stage} within {STAGE_TIMEOUT:g}s"
    deadline = time.monotonic() + 10
    while not busy():
        assert time.monotonic() < deadline, f"the {stage} of {job_id} never got under way"
        time.sleep(0.05)
    time.sleep(0.3)  # into the work: FFmpeg running, bytes flowing
    victim = chaos.name_of(event["worker"])
    readies = chaos.readies(victim)
    pid, at = chaos.kill(victim)
    kill = Kill(at, event["worker"], victim, f"{stage} of {job_id}")
    print(f"\n{stage}: SIGKILL {victim} (pid {pid}) while it ran {stage} of {job_id}")
    done = Round(stage, job_id, victim, kill, str(event["attempt_id"]))
    done.back_after = chaos.bring_back(victim, pid, readies)
    print(f"  {victim} back in the group after {done.back_after:.1f}s")
    if wait_ended(tail, {job_id}):
        print(f"  {job_id} has not ended; moving on")  # judged at the end
    return done


def kill_beside_stage(chaos: ChaosStack, tail: EventTail, stage: str, job_id: str) -> Round:
    """Wait until the job has started `stage`, then SIGKILL the *other* worker: the survivor
    finishes the stage while the group rebalances around it, and hands the job on (a hand-off made
    then was once dropped by the rebalance, and the job sat until the stalled-job check)."""
    event = tail.wait_for(
        lambda e: e["job_id"] == job_id and e["stage"] == stage and e.get("stage_status") == "started",
        STAGE_TIMEOUT,
    )
    assert event is not None, f"{job_id} did not start {stage} within {STAGE_TIMEOUT:g}s"
    survivor = chaos.name_of(event["worker"])
    victim = EXTRA_WORKER if survivor == UP_WORKER else UP_WORKER
    readies = chaos.readies(victim)
    pid, at = chaos.kill(victim)
    kill = Kill(at, event["worker"], victim, f"beside the {stage} of {job_id} on {survivor}")
    print(f"\n{stage} on {survivor}: SIGKILL {victim} (pid {pid}) beside it")
    done = Round(f"{stage} (survivor)", job_id, victim, kill, str(event["attempt_id"]))
    done.back_after = chaos.bring_back(victim, pid, readies)
    if wait_ended(tail, {job_id}):
        print(f"  {job_id} has not ended; moving on")  # judged at the end
    return done


def wait_ended(tail: EventTail, jobs: set[str], timeout: float = END_TIMEOUT) -> set[str]:
    """Wait until every job has ended; give up after `timeout`, or sooner when no event at all came
    for STALL_SECONDS (nothing runs any more). Returns the jobs that have not ended."""
    deadline = time.monotonic() + timeout
    seen, quiet_since = len(tail.events()), time.monotonic()
    while not jobs <= tail.ended() and time.monotonic() < deadline:
        time.sleep(0.5)
        if len(tail.events()) != seen:
            seen, quiet_since = len(tail.events()), time.monotonic()
        elif time.monotonic() - quiet_since > STALL_SECONDS:
            break
    return jobs - tail.ended()


def fetched_by(tail: EventTail, job_id: str) -> str | None:
    """The worker that owns the job's partition: it fetches, renders and uploads the job (the
    intake's own consumer group validates requests wherever its partitions are)."""
    event = tail.wait_for(
        lambda e: e["job_id"] == job_id and e["stage"] == "fetch" and e.get("stage_status") == "started",
        STAGE_TIMEOUT,
    )
    return None if event is None else event.get("worker")


def worker_id_of(chaos: ChaosStack, name: str) -> str:
    """The worker id events carry for the stack's worker `name` (agents.stages.runtime.WORKER_ID)."""
    return f"{socket.gethostname()}-{chaos.pid(name)}"


# --- the test ----------------------------------------------------------------------------------


def test_jobs_end_once_with_a_good_video_whatever_dies(chaos: ChaosStack, tmp_path: Path) -> None:
    specs: dict[str, dict[str, Any]] = {}
    rounds: list[Round] = []
    n = 0

    def submit(spec: dict[str, Any]) -> str:
        job_id = chaos.post(spec)
        specs[job_id] = spec
        return job_id

    def background(count: int = 2) -> None:
        nonlocal n
        for _ in range(count):
            n += 1
            submit(small_job(chaos.media, n))

    with EventTail(chaos.bootstrap) as tail:
        # 1. fetch: the source drips for SLOW_FETCH_SECONDS
        target = submit(slow_fetch_job(chaos.media))
        background()
        rounds.append(kill_in_stage(chaos, tail, "fetch", target))

        # 2. render: a few seconds of noise
        target = submit(noise_job(chaos.media, 16))
        background()
        rounds.append(kill_in_stage(chaos, tail, "render", target))

        # 3. upload: the proxy holds the job's first PUT (listed before the job can reach upload)
        target = submit(noise_job(chaos.media, 4))
        chaos.held.jobs.add(target)
        background()
        rounds.append(kill_in_stage(chaos, tail, "upload", target, lambda: target in chaos.held.holding))

        # 4. `videogen up`'s own worker, killed mid-render; its supervisor starts it again
        # (deploy.embedded.Supervisor, restart 1 s after a first crash).
        # A job is on that worker when its partition is: submit until one is fetched there.
        own = worker_id_of(chaos, UP_WORKER)
        for _ in range(8):
            target = submit(noise_job(chaos.media, 16))
            if fetched_by(tail, target) == own:
                break
        else:
            raise AssertionError(f"no job landed on {UP_WORKER} ({own})")
        background()
        rounds.append(kill_in_stage(chaos, tail, "render", target))
        assert rounds[-1].victim == UP_WORKER
        assert "videogen: worker exited with -9; restarting in" in chaos.up_log()

        # 5. the survivor is mid-fetch when the other worker is killed
        target = submit(slow_fetch_job(chaos.media))
        background()
        rounds.append(kill_beside_stage(chaos, tail, "fetch", target))

        wait_ended(tail, set(specs))
        chaos.watch()

    events = asyncio.run(read_topic(chaos.bootstrap, "videogen.jobs.events"))
    results = asyncio.run(read_topic(chaos.bootstrap, "videogen.jobs.results"))
    expected = {job_id: expected_of(spec) for job_id, spec in specs.items()}
    verdicts = judge(expected, events, results, chaos.s3(), BUCKET, tmp_path)

    print(f"\n{len(verdicts)} jobs, {len(rounds)} kills")
    in_flight = {id(done): {r.job_id: r for r in recoveries(done.kill, events)} for done in rounds}
    for done in rounds:
        found = in_flight[id(done)]
        mine = found.get(done.job_id)
        takeover, ended = (mine.takeover, mine.ended) if mine else (None, None)
        others = ", ".join(
            f"{r.job_id} ({r.stage}) {_secs(r.takeover)}/{_secs(r.ended)}"
            for r in found.values()
            if r.job_id != done.job_id
        )
        print(
            f"  {done.stage:<6} kill of {done.victim:<9}: next event of {done.job_id} from another worker "
            f"after {_secs(takeover)}, ended after {_secs(ended)}; "
            f"worker back in {done.back_after:.1f}s"
            + (f"; also in flight (takeover/end): {others}" if others else "")
        )
    redone = {v.job_id: v.redone for v in verdicts if v.redone}
    print(f"  stages started more than once: {redone or 'none'}")

    bad = [
        v.describe() + "".join(_history(events, v.job_id))
        for v in verdicts
        if not v.ok or v.status != "completed"
    ]
    bad += [f"a worker died without being killed: {crash}" for crash in chaos.crashes]
    lost = {v.job_id for v in verdicts if v.lost}
    assert not bad, "\n".join(bad + chaos.errors() + (where(chaos.bootstrap, lost) if lost else []))
    assert all(len(v.objects) == 1 for v in verdicts)
    for done in rounds:  # each kill interrupted the stage it was meant to
        if done.stage.endswith("(survivor)"):
            continue  # the survivor's stage was not interrupted: it must finish once, as judged
        assert done.job_id in in_flight[id(done)], f"{done.job_id} was not in flight on {done.victim}"
        interrupted = [
            e
            for e in events
            if e["job_id"] == done.job_id
            and e.get("attempt_id") == done.attempt
            and e.get("stage_status") == "finished"
        ]
        assert not interrupted, f"the {done.stage} of {done.job_id} finished before the kill: {interrupted}"


def _history(events: list[dict[str, Any]], job_id: str) -> list[str]:
    return [
        f"\n    {e['at']:.1f} {e['stage']} {e['status']} {e.get('stage_status') or ''} "
        f"{e['current_step']!r} {e.get('worker')} {e.get('attempt_id') or ''}"
        for e in events
        if e["job_id"] == job_id
    ]


def _secs(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}s"
