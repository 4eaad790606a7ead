"""Chaos against the embedded stack: workers SIGKILLed at random moments while jobs run.

Starts what `videogen up` starts (Tansu broker, moto S3, the analytics store, the API) with N
workers on 127.0.0.1 free ports, submits the jobs (noise tiles on a colour background, so each
render takes a few seconds; every third job's source drips over a few seconds, so kills land mid-fetch
on the victim or the survivor), SIGKILLs K random workers at random moments (each restarted at once,
as `videogen up` would), waits for every job to end, then reads `videogen.jobs.events` and
`videogen.jobs.results` to their end and checks S3:

- lost: a job with no terminal result;
- duplicated: more than one terminal result or terminal event, or more than one object under
  processed/ for the job;
- wrongly completed: completed with an object that is missing, empty, of another size than the
  result says, not decodable, or of other dimensions or duration than asked;
- stages finished twice (a stage's work done again after it was handed on) and stages redone
  (started more than once: expected after a kill, reported);
- terminal results per job (exactly 1), and jobs stuck: 60 s or more without an event while a job
  submitted after them on the same partition moved on;
- a restart of every worker after the jobs ended, with a stalled-job limit of about a second: it
  must announce nothing for them;
- rebalances per kill, from the workers' JSON logs (Faust logs "Executing _on_partitions_assigned"
  once per member and generation; aiokafka's "Joined group" lines are below its WARNING level);
- recovery time per job in flight on a killed worker: kill -> its first event from another
  worker, and kill -> its end.

    python -m bench.chaos                                   # 30 jobs, 1280x720, 10-20 s, 5 kills
    python -m bench.chaos --jobs 10 --kills 3 --seconds 8 --size 640x360     # a quick run

Bounded by --timeout; every process it starts is stopped at the end, on Ctrl-C and on errors.
Exits 1 when a job was lost, duplicated or wrongly completed, or a stage finished twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import http.server
import itertools
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import httpx
import imageio_ffmpeg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from deploy.embedded import Child, Stack, start_api, start_infrastructure, start_worker
from schemas.settings import Settings
from storage.s3 import s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

EVENTS = "videogen.jobs.events"
RESULTS = "videogen.jobs.results"
TERMINAL = frozenset({"completed", "failed", "cancelled"})
STAGES = ("validate", "fetch", "render", "upload", "notify")
ASSIGNED = "Executing _on_partitions_assigned"
REBALANCE_GAP_SECONDS = 1.5
SLOW_FETCH_SECONDS = 4.0
SLOW_CHUNKS = 40
STUCK_SECONDS = 60.0
# After the run every worker is restarted with this stalled-job limit, then watched this long (past
# one stalled-job check): it must announce nothing for the jobs that already ended.
AFTER_STALLED_MINUTES = 0.02
AFTER_WATCH_SECONDS = 40.0
Event = dict[str, Any]
_partitioner = DefaultPartitioner()  # the producers' own: a job's messages all land on this partition


# --- reading the topics ------------------------------------------------------------------------


async def _consumer(bootstrap: str, topic: str) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100)
    await consumer.start()
    await consumer.topics()
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    return consumer, partitions


async def _read_to_end(bootstrap: str, topic: str, timeout: float) -> list[Event]:
    consumer, partitions = await _consumer(bootstrap, topic)
    try:
        ends = await consumer.end_offsets(partitions)
        messages: list[Event] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                return messages
            for records in (await consumer.getmany(timeout_ms=300)).values():
                messages.extend(orjson.loads(r.value) for r in records)
        raise TimeoutError(f"{topic} not read to its end within {timeout:g}s")
    finally:
        await consumer.stop()


def read_to_end(bootstrap: str, topic: str, timeout: float = 60.0) -> list[Event]:
    """Every JSON message on the topic, from its beginning to the end it had when the call began."""
    return asyncio.run(_read_to_end(bootstrap, topic, timeout))


STAGE_TOPICS = tuple(
    f"videogen.jobs.{name}" for name in ("requested", "validated", "fetched", "rendered", "uploaded")
)


async def _where(bootstrap: str, job_ids: set[str], group: str) -> list[str]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        everywhere = {t: sorted(consumer.partitions_for_topic(t) or ()) for t in STAGE_TOPICS}
        lines = []
        for topic, numbers in everywhere.items():
            partitions = [TopicPartition(topic, p) for p in numbers]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            ours: dict[TopicPartition, list[int]] = {}
            last: dict[TopicPartition, int] = {}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(
                [await consumer.position(tp) >= end for tp, end in ends.items()]
            ):
                for tp, records in (await consumer.getmany(timeout_ms=300)).items():
                    for record in records:
                        last[tp] = record.offset
                        if (record.key or b"").decode("utf-8", "replace") in job_ids:
                            ours.setdefault(tp, []).append(record.offset)
            for tp, offsets in sorted(ours.items()):
                committed = await consumer.committed(tp)
                lines.append(
                    f"{topic}[{tp.partition}] offsets {offsets} hold unfinished jobs; the group "
                    + ("never committed there" if committed is None else f"committed {committed}")
                    + f"; end offset {ends[tp]}"
                    + (f" (yet offset {last[tp]} was read)" if last.get(tp, -1) >= ends[tp] else "")
                )
        return lines
    finally:
        await consumer.stop()


def where(bootstrap: str, job_ids: set[str], group: str = "videogen") -> list[str]:
    """Where the jobs' stage messages are, and the pipeline group's committed offset there."""
    try:
        return asyncio.run(_where(bootstrap, job_ids, group))
    except Exception as exc:  # a diagnosis, never the reason the bench fails
        return [f"could not read the stage topics: {exc!r}"]


class EventTail:
    """Follows a topic from its beginning in a background thread, so that a caller sees a job's
    events (and which worker sent them) within a fetch wait of their publication."""

    def __init__(self, bootstrap: str, topic: str = EVENTS) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self._events: list[Event] = []
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"tail-{topic}", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> EventTail:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._follow())
        except BaseException as exc:  # reported to whoever waits
            self.error = exc
            with self._changed:
                self._changed.notify_all()

    async def _follow(self) -> None:
        consumer, _ = await _consumer(self.bootstrap, self.topic)
        try:
            while not self._stopping.is_set():
                batch = await consumer.getmany(timeout_ms=200)
                new = [orjson.loads(r.value) for records in batch.values() for r in records]
                if new:
                    with self._changed:
                        self._events.extend(new)
                        self._changed.notify_all()
        finally:
            await consumer.stop()

    def events(self, job_id: str | None = None) -> list[Event]:
        with self._changed:
            return [e for e in self._events if job_id is None or e["job_id"] == job_id]

    def wait_for(self, match: Callable[[Event], bool], timeout: float) -> Event | None:
        """The first event (already seen or arriving within `timeout`) that matches."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for event in self._events[seen:]:
                    if match(event):
                        return event
                seen = len(self._events)
                left = deadline - time.monotonic()
                if left <= 0 or self.error is not None:
                    return None
                self._changed.wait(min(left, 0.5))

    def ended(self) -> set[str]:
        """Jobs with a terminal event so far."""
        return {e["job_id"] for e in self.events() if is_end(e)}


def is_end(event: Event) -> bool:
    """A job's end: an `ended` event. Callback outcomes repeat the terminal status after it; an
    event without `type` (written before events had one) is told by its fields."""
    if "type" in event:
        return event["type"] == "ended"
    return event["status"] in TERMINAL and event.get("current_step") != "callback"


# --- the verdict -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    width: int
    height: int
    duration: float
    fps: float = 30.0


@dataclass
class JobVerdict:
    job_id: str
    ends: list[str] = field(default_factory=list)  # statuses of its terminal events
    results: list[str] = field(default_factory=list)  # statuses of its results
    objects: dict[str, int] = field(default_factory=dict)  # key -> size under processed/
    started: Counter[str] = field(default_factory=Counter)  # stage -> "started" events
    finished: Counter[str] = field(default_factory=Counter)  # stage -> "finished" events
    lost: bool = False
    duplicated: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    probed: str = ""

    @property
    def status(self) -> str | None:
        return self.results[0] if self.results else None

    @property
    def finished_twice(self) -> dict[str, int]:
        return {stage: n for stage, n in self.finished.items() if n > 1}

    @property
    def redone(self) -> dict[str, int]:
        return {stage: n for stage, n in self.started.items() if n > 1}

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.wrong or self.finished_twice)

    def describe(self) -> str:
        parts = [f"{self.job_id}: ends {self.ends} results {self.results} objects {self.objects}"]
        parts.append(f"started {dict(self.started)} finished {dict(self.finished)}")
        if self.probed:
            parts.append(f"probed {self.probed}")
        parts += [f"DUPLICATED {d}" for d in self.duplicated] + [f"WRONG {w}" for w in self.wrong]
        if self.lost:
            parts.append("LOST")
        if self.finished_twice:
            parts.append(f"FINISHED TWICE {self.finished_twice}")
        return "; ".join(parts)


def list_results(s3: S3Client, bucket: str) -> dict[str, int]:
    """Every object under processed/, key -> size."""
    objects: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="processed/"):
        for item in page.get("Contents", []):
            objects[item["Key"]] = int(item["Size"])
    return objects


def probe(path: Path) -> tuple[int, int, float]:
    """(width, height, duration) of a video file, decoded by PyAV (FFmpeg's libraries)."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        duration = float(container.duration / 1_000_000) if container.duration else 0.0
        if frames == 0:
            raise ValueError("no video frame decodes")
        return video.codec_context.width, video.codec_context.height, duration


def judge(
    expected: dict[str, Expected],
    events: list[Event],
    results: list[Event],
    s3: S3Client,
    bucket: str,
    scratch: Path,
) -> list[JobVerdict]:
    """Check every submitted job against the topics (read to their end) and S3."""
    verdicts = {job_id: JobVerdict(job_id) for job_id in expected}
    for event in events:
        verdict = verdicts.get(event["job_id"])
        if verdict is None:
            continue
        if is_end(event):
            verdict.ends.append(event["status"])
        if event.get("stage_status") == "started":
            verdict.started[event["stage"]] += 1
        elif event.get("stage_status") == "finished":
            verdict.finished[event["stage"]] += 1
    final: dict[str, Event] = {}
    for result in results:
        verdict = verdicts.get(result["job_id"])
        if verdict is not None:
            verdict.results.append(result["status"])
            final.setdefault(result["job_id"], result)
    stored = list_results(s3, bucket)
    for key, size in stored.items():
        for job_id, verdict in verdicts.items():
            if key.startswith(f"processed/video_{job_id}_"):
                verdict.objects[key] = size
    for job_id, verdict in verdicts.items():
        if not verdict.results:
            verdict.lost = True
            continue
        if len(verdict.results) > 1:
            verdict.duplicated.append(f"{len(verdict.results)} results {verdict.results}")
        if len(verdict.ends) != 1:
            verdict.duplicated.append(f"{len(verdict.ends)} terminal events {verdict.ends}")
        if "completed" in verdict.results and set(verdict.results) & {"failed", "cancelled"}:
            verdict.duplicated.append("completed and failed")
        if verdict.status == "completed":
            verdict.wrong += _check_output(final[job_id], verdict, expected[job_id], s3, bucket, scratch)
            if len(verdict.objects) > 1:
                verdict.duplicated.append(f"{len(verdict.objects)} objects {sorted(verdict.objects)}")
        elif verdict.objects:
            verdict.duplicated.append(f"a {verdict.status} job left objects {sorted(verdict.objects)}")
    return list(verdicts.values())


def _check_output(
    result: Event, verdict: JobVerdict, want: Expected, s3: S3Client, bucket: str, scratch: Path
) -> list[str]:
    info = result.get("result") or {}
    key, size = info.get("s3_key"), int(info.get("file_size_bytes") or 0)
    if not key or key not in verdict.objects:
        return [f"completed without its object ({key})"]
    if verdict.objects[key] == 0:
        return [f"completed with an empty object {key}"]
    if verdict.objects[key] != size:
        return [f"object {key} has {verdict.objects[key]} bytes, the result says {size}"]
    path = scratch / key.rsplit("/", 1)[-1]
    s3.download_file(bucket, key, str(path))
    try:
        width, height, duration = probe(path)
    except Exception as exc:
        return [f"object {key} does not decode: {exc}"]
    finally:
        path.unlink(missing_ok=True)
    verdict.probed = f"{width}x{height} {duration:.2f}s"
    problems = []
    if (width, height) != (want.width, want.height):
        problems.append(f"{width}x{height}, asked {want.width}x{want.height}")
    if abs(duration - want.duration) > 0.1 + 2 / want.fps:
        problems.append(f"{duration:.2f}s long, asked {want.duration:g}s")
    return problems


# --- recovery and rebalances -------------------------------------------------------------------


@dataclass
class Kill:
    at: float  # time.time() of the SIGKILL, the clock events are stamped with
    worker: str  # the killed process as events name it (hostname-pid)
    name: str  # the child's name in the stack
    note: str = ""


@dataclass
class Recovery:
    kill: Kill
    job_id: str
    stage: str  # the stage the job was in on the killed worker
    takeover: float | None  # kill -> the job's first event from another worker
    ended: float | None  # kill -> the job's terminal event


def in_flight(kill: Kill, events: list[Event]) -> dict[str, str]:
    """Jobs whose latest event before the kill came from the killed worker and had not ended,
    with the stage they were in."""
    last: dict[str, Event] = {}
    ended: set[str] = set()
    for event in sorted(events, key=lambda e: float(e["at"])):
        if float(event["at"]) > kill.at:
            break
        if is_end(event):
            ended.add(event["job_id"])
        if event.get("worker"):
            last[event["job_id"]] = event
    return {
        job_id: str(event["stage"])
        for job_id, event in last.items()
        if event["worker"] == kill.worker and job_id not in ended
    }


def recoveries(kill: Kill, events: list[Event]) -> list[Recovery]:
    found = []
    for job_id, stage in in_flight(kill, events).items():
        later = sorted(
            (e for e in events if e["job_id"] == job_id and float(e["at"]) > kill.at),
            key=lambda e: float(e["at"]),
        )
        takeover = next((e for e in later if e.get("worker") and e["worker"] != kill.worker), None)
        end = next((e for e in later if is_end(e)), None)
        found.append(
            Recovery(
                kill,
                job_id,
                stage,
                float(takeover["at"]) - kill.at if takeover else None,
                float(end["at"]) - kill.at if end else None,
            )
        )
    return found


def assignment_times(log_dir: Path) -> list[float]:
    """When any worker's Faust app took a new assignment (one line per member and rebalance)."""
    times = []
    for log in sorted(log_dir.glob("worker*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if ASSIGNED not in line:
                continue
            with contextlib.suppress(ValueError, KeyError, TypeError):
                record = orjson.loads(line)
                if record["msg"] == ASSIGNED:
                    times.append(datetime.fromisoformat(record["ts"].replace("Z", "+00:00")).timestamp())
    return sorted(times)


def rebalances(times: list[float], gap: float = REBALANCE_GAP_SECONDS) -> list[float]:
    """Start times of rebalances: assignments closer than `gap` seconds belong to one."""
    starts: list[float] = []
    previous = None
    for at in sorted(times):
        if previous is None or at - previous > gap:
            starts.append(at)
        previous = at
    return starts


def rebalances_per_kill(kills: list[Kill], starts: list[float]) -> list[int]:
    """Rebalances from each kill until the next one (the last: until the end of the logs)."""
    counts = []
    for i, kill in enumerate(kills):
        until = kills[i + 1].at if i + 1 < len(kills) else float("inf")
        counts.append(sum(1 for at in starts if kill.at <= at < until))
    return counts


def percentiles(samples: list[float]) -> str:
    if not samples:
        return "n/a"
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return f"p50 {cuts[49]:.1f}s  p95 {cuts[94]:.1f}s  max {ordered[-1]:.1f}s  (n={len(ordered)})"


# --- the stack ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_id(child: Child) -> str:
    """The name a worker process gives itself in events (agents.stages.runtime.WORKER_ID)."""
    assert child.process is not None
    return f"{socket.gethostname()}-{child.process.pid}"


def readies(child: Child) -> int:
    """How often the worker's Faust app logged that it is ready: once per start, after its first
    assignment of partitions."""
    path = child.log_path
    return path.read_text(errors="replace").count("[^Worker]: Ready") if path and path.exists() else 0


def last_error(child: Child) -> str:
    """The last ERROR or CRITICAL message in the worker's JSON log that is not the crash report."""
    path = child.log_path
    if not path or not path.exists():
        return "?"
    found = "?"
    for line in path.read_text(errors="replace").splitlines():
        if '"level":"error"' in line or '"level":"critical"' in line:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                message = str(orjson.loads(line)["msg"])
                if "We experienced a crash" not in message and "Error while stopping" not in message:
                    found = message[:300].replace("\n", " ")
    return found


def alive(child: Child) -> bool:
    return child.process is not None and child.process.poll() is None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def make_media(root: Path) -> None:
    """A noise clip (random pixels: expensive to encode) and a logo, made with lavfi."""
    root.mkdir(parents=True, exist_ok=True)
    head = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"]
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-threads", "1"]
    noise = "nullsrc=s=320x240:r=25:d=3,geq=random(1)*255:128:128"
    subprocess.run([*head, noise, *x264, str(root / "noise.mp4")], check=True)
    subprocess.run([*head, "color=c=red:s=64x64:d=1", "-frames:v", "1", str(root / "logo.png")], check=True)


class _Media(_Quiet):
    """Serves the media; under /slow/ a file drips over SLOW_FETCH_SECONDS, so a worker can be
    killed (or survive a kill) in the middle of a fetch."""

    def do_GET(self) -> None:
        if not self.path.startswith("/slow/"):
            super().do_GET()
            return
        path = Path(self.directory) / self.path.removeprefix("/slow/").lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        chunk = max(1, len(data) // SLOW_CHUNKS)
        with contextlib.suppress(OSError):
            for start in range(0, len(data), chunk):
                self.wfile.write(data[start : start + chunk])
                self.wfile.flush()
                time.sleep(SLOW_FETCH_SECONDS / SLOW_CHUNKS)


@contextlib.contextmanager
def media_server(root: Path) -> Iterator[str]:
    """The bench media on loopback; yields the base URL."""
    make_media(root)
    handler = functools.partial(_Media, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def job_spec(
    base: str, n: int, width: int, height: int, seconds: float, slow_fetch: bool = False
) -> dict[str, Any]:
    """A colour background, a looped noise tile (a quarter of the frame), a logo and a caption;
    a fetch-heavy job's tile drips from the media server for SLOW_FETCH_SECONDS."""
    tile_w, tile_h = max(2, width // 2 // 2 * 2), max(2, height // 2 // 2 * 2)
    return {
        "output_format": "mp4",
        "width": width,
        "height": height,
        "duration": seconds,
        "crf": 45,
        "elements": [
            {"type": "color", "color": "#203040"},
            {
                "type": "video",
                "source": f"{base}/slow/noise.mp4" if slow_fetch else f"{base}/noise.mp4",
                "duration_mode": "loop",
                "x": (n * 37) % max(1, width - tile_w),
                "y": height // 4,
                "width": tile_w,
                "height": tile_h,
            },
            {
                "type": "image",
                "source": f"{base}/logo.png",
                "x": (n * 13) % max(1, width - 64),
                "y": 8,
                "width": 64,
                "height": 64,
            },
            {"type": "text", "text": f"chaos #{n}", "font_size": max(12, height // 15), "color": "#ffffff"},
        ],
    }


def make_stack(data_dir: Path, partitions: int, session_timeout: float | None) -> Stack:
    """The embedded stack's settings on free loopback ports; nothing started yet."""
    overrides = {
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "EMBEDDED_BROKER_PORT": str(free_port()),
        "EMBEDDED_S3_PORT": str(free_port()),
        "ANALYTICS_HOST": "127.0.0.1",
        "ANALYTICS_PORT": str(free_port()),
        "WORKER_WEB_HOST": "127.0.0.1",
        "DATA_DIR": str(data_dir),
        "ALLOWED_SOURCE_HOSTS": "127.0.0.1",  # the bench media server
        "KAFKA_TOPIC_PARTITIONS": str(partitions),
        "MAX_CONCURRENT_JOBS": "1",
        "FFMPEG_THREADS": "1",
        "QUICK_RESPONSE_THRESHOLD_SECONDS": "0",  # every POST answers 202 at once
        "ESTIMATOR_REFRESH_SECONDS": "86400",
        "MAX_QUEUED_JOBS": "100000",
        "LOG_LEVEL": "INFO",
    }
    if session_timeout is not None:
        overrides["KAFKA_SESSION_TIMEOUT_SECONDS"] = f"{session_timeout:g}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "S3_", "AWS_", "CLICKHOUSE"))}
    settings = Settings.model_validate({k.lower(): v for k, v in overrides.items()})
    return Stack(settings, env={**env, **overrides})


def children(pid: int) -> dict[int, str]:
    """The live child processes of `pid` (Linux /proc), e.g. a worker's FFmpeg, with their argv."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                argv = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found[int(stat.parent.name)] = argv.strip()[:200]
    return found


def sigkill(child: Child) -> tuple[int, dict[int, str]]:
    """SIGKILL the worker process alone, as the OOM killer would; returns its pid and its children
    then, which must die with it (FFmpeg runs with PR_SET_PDEATHSIG)."""
    assert child.process is not None
    pid = child.process.pid
    kids = children(pid)
    os.kill(pid, signal.SIGKILL)
    child.process.wait(10)
    return pid, kids


def outlived(pids: dict[int, str]) -> list[int]:
    """Those of `pids` still running (not zombies); they are killed."""
    left = []
    for pid in pids:
        with contextlib.suppress(OSError, IndexError):
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state != "Z":
                left.append(pid)
                os.kill(pid, signal.SIGKILL)
    return left


def submit(api: str, specs: list[dict[str, Any]]) -> list[str]:
    def post(spec: dict[str, Any]) -> str:
        with httpx.Client(base_url=api, timeout=30) as client:
            response = client.post("/api/v1/videocreate", json=spec)
            if response.status_code not in (200, 202):
                raise RuntimeError(f"POST answered {response.status_code}: {response.text}")
            return str(response.json()["job_id"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(post, specs))


@dataclass
class Chaos:
    args: argparse.Namespace
    rng: random.Random
    stack: Stack
    workers: list[Child]
    tail: EventTail
    jobs: set[str]
    deadline: float
    kills: list[Kill] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)  # children that outlived a killed worker
    stalled: bool = False  # stopped waiting: no event at all for --stall seconds
    crashes: list[str] = field(default_factory=list)  # workers that died without being killed
    _restarts: list[tuple[float, Child, int, dict[int, str]]] = field(default_factory=list)
    _readies: dict[str, int] = field(default_factory=dict)  # "Ready" lines of a worker at its start

    def done(self) -> bool:
        return self.jobs <= self.tail.ended() or time.monotonic() > self.deadline

    def _tick(self) -> None:
        """Restart the killed workers whose delay is over, and any worker that died by itself (as
        `videogen up` would; it is reported)."""
        pending = {id(r[1]) for r in self._restarts}
        for child in self.workers:
            if child.process is not None and child.process.poll() is not None and id(child) not in pending:
                why = last_error(child)
                self.crashes.append(
                    f"{child.name} (pid {child.process.pid}) exited with {child.process.returncode}: {why}"
                )
                print(
                    f"  {child.name} died by itself ({child.process.returncode}); restarting it", flush=True
                )
                self._readies[child.name] = readies(child)
                self.stack.spawn(child)
        now = time.monotonic()
        for restart in [r for r in self._restarts if r[0] <= now]:
            self._restarts.remove(restart)
            _, child, old_pid, kids = restart
            for pid in outlived(kids):
                self.leftovers.append(f"pid {pid} of {child.name} (pid {old_pid}): {kids[pid]}")
            self._readies[child.name] = readies(child)
            self.stack.spawn(child)
            print(f"  restarted {child.name} (pid {child.process.pid if child.process else '?'})", flush=True)

    def _sleep(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until and not self.done():
            self._tick()
            time.sleep(0.2)

    def run(self, started: float) -> None:
        while len(self.kills) < self.args.kills and not self.done():
            self._sleep(self.rng.uniform(self.args.min_gap, self.args.max_gap))
            ready = [w for w in self.workers if alive(w) and w.ready()]
            if self.done() or len(ready) < 2:  # a survivor must be there to take over
                continue
            victim = self.rng.choice(ready)
            name = worker_id(victim)
            busy = {e["job_id"] for e in self.tail.events() if e.get("worker") == name} - self.tail.ended()
            # /health answers before Faust has its first assignment: a crash during the join
            joined = readies(victim) > self._readies.get(victim.name, 0)
            kill = Kill(time.time(), name, victim.name, "" if joined else "before it joined the group")
            pid, kids = sigkill(victim)
            self.kills.append(kill)
            print(
                f"kill {len(self.kills)} at +{time.monotonic() - started:.1f}s: {victim.name} (pid {pid}), "
                f"{len(busy)} unfinished job(s) had events from it" + (f", {kill.note}" if kill.note else ""),
                flush=True,
            )
            self._restarts.append((time.monotonic() + self.args.restart_delay, victim, pid, kids))
        while self._restarts:  # every killed worker comes back, also when the jobs ended early
            self._tick()
            time.sleep(0.2)
        seen, quiet_since = len(self.tail.events()), time.monotonic()
        while not self.done():
            time.sleep(0.5)
            self._tick()
            if len(self.tail.events()) != seen:
                seen, quiet_since = len(self.tail.events()), time.monotonic()
            elif time.monotonic() - quiet_since > self.args.stall:
                self.stalled = True  # nothing runs any more: what has not ended is lost
                print(f"no event for {self.args.stall:g}s with jobs unfinished; stopping", flush=True)
                return


def restart_after_the_end(stack: Stack, workers: list[Child]) -> None:
    """Stop every worker and start it again with a stalled-job limit of about a second: each is
    given partitions whose jobs all ended, and must announce nothing for them (a worker with a
    stale copy of job state once failed completed jobs)."""
    for child in workers:
        if child.process is not None and child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(30)
        child.env["STALLED_JOB_MINUTES"] = f"{AFTER_STALLED_MINUTES:g}"
        stack.spawn(child)
    deadline = time.monotonic() + 120
    while not all(alive(w) and w.ready() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.5)
    print(f"restarted every worker after the end; watching {AFTER_WATCH_SECONDS:g}s", flush=True)
    time.sleep(AFTER_WATCH_SECONDS)


def stuck(events: list[Event], partitions: int, limit: float = STUCK_SECONDS) -> dict[str, float]:
    """Jobs that waited `limit` seconds or more for their next event while a job submitted after
    them on the same partition got to that stage: not waiting their turn (a partition's stage
    messages are handled in order) but stranded. Returns the longest such wait per job."""
    every = list(range(partitions))
    by_job: dict[str, list[Event]] = {}
    for event in events:
        if event.get("current_step") != "callback":
            by_job.setdefault(event["job_id"], []).append(event)
    for history in by_job.values():
        history.sort(key=lambda e: float(e["at"]))
    first = {job_id: float(history[0]["at"]) for job_id, history in by_job.items()}
    partition = {job_id: _partitioner(job_id.encode(), every, every) for job_id in by_job}
    found: dict[str, float] = {}
    for job_id, history in by_job.items():
        for before, after in itertools.pairwise(history):
            t1, t2 = float(before["at"]), float(after["at"])
            if t2 - t1 < limit:
                continue
            overtaken = any(
                partition[other] == partition[job_id]
                and first[other] > first[job_id]
                and any(e["stage"] == after["stage"] and t1 < float(e["at"]) < t2 for e in others)
                for other, others in by_job.items()
            )
            if overtaken:
                found[job_id] = max(found.get(job_id, 0.0), t2 - t1)
    return found


def report(
    verdicts: list[JobVerdict],
    kills: list[Kill],
    events: list[Event],
    log_dir: Path,
    leftovers: list[str],
    crashes: list[str],
    partitions: int,
) -> bool:
    """Print the figures; True when nothing was lost, duplicated or wrongly completed."""
    statuses = Counter(v.status or "none" for v in verdicts)
    lost = [v for v in verdicts if v.lost]
    duplicated = [v for v in verdicts if v.duplicated]
    wrong = [v for v in verdicts if v.wrong]
    twice = [v for v in verdicts if v.finished_twice]
    failed = [v for v in verdicts if v.status in ("failed", "cancelled")]
    print(
        f"\njobs {len(verdicts)}: {dict(statuses)}\n"
        f"lost {len(lost)}  duplicated {len(duplicated)}  wrongly completed {len(wrong)}  "
        f"stage finished twice {len(twice)}  failed {len(failed)}   (all must be 0)"
    )
    per_job = Counter(len(v.results) for v in verdicts)
    print(f"terminal results per job: {dict(sorted(per_job.items()))} (must be {{1: {len(verdicts)}}})")
    late = stuck(events, partitions)
    print(
        f"stuck {STUCK_SECONDS:g}s or more while later jobs of their partition moved on: {len(late)}"
        + (f" { ({k: round(v) for k, v in late.items()}) }" if late else "")
    )
    for verdict in [*lost, *duplicated, *wrong, *twice, *failed]:
        print(f"  {verdict.describe()}")
        for event in [e for e in events if e["job_id"] == verdict.job_id][-4:]:
            print(
                f"      last: {event['at']:.1f} {event['stage']} {event['status']} "
                f"{event.get('stage_status') or ''} {event['current_step']!r} {event.get('worker')}"
            )
    redone: Counter[str] = Counter()
    extra: Counter[str] = Counter()
    for verdict in verdicts:
        for stage, n in verdict.redone.items():
            redone[stage] += 1
            extra[stage] += n - 1
    print(
        "stages redone (started more than once): "
        + (", ".join(f"{s} {redone[s]} job(s) (+{extra[s]} starts)" for s in STAGES if redone[s]) or "none")
    )
    starts = rebalances(assignment_times(log_dir))
    per_kill = rebalances_per_kill(kills, starts)
    before = sum(1 for at in starts if not kills or at < kills[0].at)
    mean = statistics.mean(per_kill) if per_kill else 0.0
    print(f"rebalances: {before} at start, per kill {per_kill} (mean {mean:.1f})")
    takeovers: list[float] = []
    ends: list[float] = []
    firsts: list[float] = []  # per kill: until the group resumed any of the victim's jobs
    for n, kill in enumerate(kills, 1):
        found = recoveries(kill, events)
        resumed = [r.takeover for r in found if r.takeover is not None]
        takeovers += resumed
        firsts += [min(resumed)] if resumed else []
        ends += [r.ended for r in found if r.ended is not None]
        jobs = ", ".join(
            f"{r.job_id} in {r.stage}: taken over {_secs(r.takeover)}, ended {_secs(r.ended)}" for r in found
        )
        note = f", {kill.note}" if kill.note else ""
        print(f"  kill {n} ({kill.name}{note}): {jobs or 'no job in flight on it'}")
    print(f"recovery kill -> next event from another worker: {percentiles(takeovers)}")
    print(f"recovery kill -> job ended:                      {percentiles(ends)}")
    print(f"recovery kill -> first of its jobs resumed:      {percentiles(firsts)}")
    if leftovers:
        print(f"processes outlived their killed worker: {leftovers}")
    for crash in crashes:
        print(f"worker crash (not a kill): {crash}")
    return not (lost or duplicated or wrong or twice or failed or leftovers or crashes or late)


def _secs(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}s"


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def parse_seconds(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    width, height = parse_size(args.size)
    low, high = parse_seconds(args.seconds)
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="videogen-chaos-")).resolve()
    stack = make_stack(data_dir, args.partitions, args.session_timeout)
    started = time.monotonic()
    ok = False
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(stack.stop)
        base = cleanup.enter_context(media_server(data_dir / "media"))
        print(f"chaos: starting the stack and {args.workers} workers under {data_dir}", flush=True)
        resolved = start_infrastructure(stack)
        workers = [
            start_worker(stack, resolved, f"worker{i}", free_port()) for i in range(1, args.workers + 1)
        ]
        start_api(stack, resolved)
        api = f"http://{resolved.host}:{resolved.port}"
        tail = cleanup.enter_context(EventTail(resolved.bootstrap_servers))
        seconds = [round(rng.uniform(low, high), 1) for _ in range(args.jobs)]
        slow = {n for n in range(args.jobs) if args.fetch_heavy and n % args.fetch_heavy == 0}
        specs = [job_spec(base, n, width, height, s, n in slow) for n, s in enumerate(seconds)]
        job_ids = submit(api, specs)
        expected = {job_id: Expected(width, height, s) for job_id, s in zip(job_ids, seconds, strict=True)}
        print(
            f"submitted {len(job_ids)} jobs ({width}x{height}, {low:g}-{high:g} s) at "
            f"+{time.monotonic() - started:.1f}s; {args.kills} kills, "
            f"{args.min_gap:g}-{args.max_gap:g} s apart",
            flush=True,
        )
        chaos = Chaos(args, rng, stack, workers, tail, set(job_ids), started + args.timeout)
        chaos.run(started)
        print(f"every job ended or time is up at +{time.monotonic() - started:.1f}s; checking", flush=True)
        if args.restart_after:
            restart_after_the_end(stack, workers)
        events = read_to_end(resolved.bootstrap_servers, EVENTS)
        results = read_to_end(resolved.bootstrap_servers, RESULTS)
        scratch = Path(tempfile.mkdtemp(prefix="probe-", dir=data_dir))
        verdicts = judge(expected, events, results, s3_client(resolved), resolved.s3_bucket_name, scratch)
        ok = report(
            verdicts, chaos.kills, events, data_dir / "logs", chaos.leftovers, chaos.crashes, args.partitions
        )
        unfinished = {v.job_id for v in verdicts if v.lost}
        for line in where(resolved.bootstrap_servers, unfinished) if unfinished else []:
            print(f"  {line}")
        if len(chaos.kills) < args.kills:
            print(f"only {len(chaos.kills)} of {args.kills} kills: the jobs ended first (use more jobs)")
    print(f"wall {time.monotonic() - started:.1f}s")
    if ok and not args.keep and not args.data_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
    else:
        print(f"logs kept in {data_dir / 'logs'}")
    return 0 if ok else 1


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (at least 2)")
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--kills", type=int, default=5, help="workers SIGKILLed (each restarted)")
    parser.add_argument("--seconds", default="10-20", help="output length of each job: N or MIN-MAX")
    parser.add_argument("--size", default="1280x720", help="output WIDTHxHEIGHT")
    parser.add_argument("--min-gap", type=float, default=3.0, help="least seconds between kills")
    parser.add_argument("--max-gap", type=float, default=10.0, help="most seconds between kills")
    parser.add_argument(
        "--restart-delay", type=float, default=1.0, help="seconds before a killed worker restarts"
    )
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--session-timeout", type=float, default=None, help="KAFKA_SESSION_TIMEOUT_SECONDS")
    parser.add_argument("--timeout", type=float, default=1200.0, help="the bench stops itself after this")
    parser.add_argument(
        "--stall", type=float, default=90.0, help="after the kills, stop when no event came for this long"
    )
    parser.add_argument(
        "--fetch-heavy", type=int, default=3, help="every Nth job fetches a source that drips (0: none)"
    )
    parser.add_argument(
        "--restart-after",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="restart every worker once the jobs ended and check it announces nothing for them",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--data-dir", default=None, help="default: a temporary directory")
    parser.add_argument("--keep", action="store_true", help="keep the data directory (logs) when all is well")
    args = parser.parse_args()
    if args.workers < 2:
        parser.error("--workers must be at least 2: a survivor takes over a killed worker's jobs")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        sys.exit(run(args))
    except KeyboardInterrupt:
        print("\ninterrupted; every process the bench started was stopped", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
