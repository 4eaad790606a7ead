"""The analytics path for real, without the rest of the stack: a Tansu broker, the embedded store's
server and one worker. Job events are produced straight onto `videogen.jobs.events` (the stages'
events, as the pipeline would send them), then read back through the CLI: every job and stage once,
replays doubling nothing, and rows surviving an outage of the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from deploy.embedded import broker_argv, port_open
from schemas.events import JobEvent
from streams.codec import encode
from streams.topics import EVENTS
from tests.e2e.conftest import free_port
from tests.unit.test_analytics_store import completed_job, history

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
VIDEOGEN = (sys.executable, "-m", "api.cli")
WAIT_SECONDS = 120.0


def wait_for(what: str, check: Callable[[], bool], process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll until `check` holds; the deadline only guards against a hang."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


@dataclass
class Analytics:
    env: dict[str, str]
    logs: Path
    bootstrap: str
    worker_url: str
    store_port: int
    store: subprocess.Popen[bytes] | None = None

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen(
            argv, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_store(self) -> None:
        self.store = self.spawn("analytics", [*VIDEOGEN, "analytics", "serve"])
        wait_for("the analytics store", lambda: port_open("127.0.0.1", self.store_port), self.store)

    def stop_store(self) -> None:
        assert self.store is not None
        stop(self.store)

    def query(self, sql: str) -> list[dict[str, object]]:
        done = subprocess.run(
            [*VIDEOGEN, "analytics", "query", sql, "--format", "json"],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        return list(orjson.loads(done.stdout))

    def metric(self, name: str, **labels: str) -> float:
        text = httpx.get(f"{self.worker_url}/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return float(sample.value)
        return 0.0

    def produce(self, events: list[JobEvent]) -> None:
        async def send() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
            await producer.start()
            try:
                for event in events:
                    await producer.send_and_wait(EVENTS, encode(event), key=event.job_id.encode())
            finally:
                await producer.stop()

        asyncio.run(send())


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def analytics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Analytics]:
    data_dir = tmp_path_factory.mktemp("analytics-e2e")
    ports = {name: free_port() for name in ("broker", "store", "worker")}
    bootstrap = f"127.0.0.1:{ports['broker']}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "CLICKHOUSE", "ANALYTICS_"))},
        "DATA_DIR": str(data_dir),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPIC_PARTITIONS": "2",
        "WORKER_WEB_PORT": str(ports["worker"]),
        "ANALYTICS_PORT": str(ports["store"]),
        "ANALYTICS_FLUSH_SECONDS": "0.2",
        "ANALYTICS_TIMEOUT_SECONDS": "2",
    }
    logs = data_dir / "logs"
    logs.mkdir()
    stack = Analytics(env, logs, bootstrap, f"http://127.0.0.1:{ports['worker']}", ports["store"])
    broker = stack.spawn("broker", broker_argv("127.0.0.1", ports["broker"]))
    worker = None
    try:
        wait_for("the broker", lambda: port_open("127.0.0.1", ports["broker"]), broker)
        stack.start_store()
        worker = stack.spawn("worker", [sys.executable, "-m", "api.cli", "worker"])
        wait_for("the worker", lambda: port_open("127.0.0.1", ports["worker"]), worker)
        yield stack
    finally:
        if worker is not None:
            stop(worker)
        if stack.store is not None:
            stop(stack.store)
        stop(broker, signal.SIGINT)


def rows_landed(stack: Analytics, before: float, count: int) -> Callable[[], bool]:
    return lambda: stack.metric("videogen_analytics_rows_total", outcome="inserted") >= before + count


def test_events_land_once_through_replays_and_a_store_outage(analytics: Analytics) -> None:
    events = history()
    analytics.produce(events)
    wait_for("four finished jobs", lambda: len(analytics.query("SELECT job_id FROM finished_jobs")) == 4)

    jobs = analytics.query(
        "SELECT job_id, status, error_code, processing_seconds, source_bytes, quick_response "
        "FROM finished_jobs ORDER BY job_id"
    )
    assert [(j["job_id"], j["status"], j["error_code"]) for j in jobs] == [
        ("vg_a", "completed", None),
        ("vg_b", "completed", None),
        ("vg_bad", "failed", "SOURCE_DOWNLOAD_FAILED"),
        ("vg_cancel", "cancelled", "CANCELLED"),
    ]
    assert [j["processing_seconds"] for j in jobs] == [12.0, 20.0, 3.0, 3.0]
    stages_sql = (
        "SELECT job_id, stage, count() AS n FROM stages GROUP BY job_id, stage ORDER BY job_id, stage"
    )
    stages = analytics.query(stages_sql)
    assert {s["n"] for s in stages} == {1}
    assert len(stages) == 6 + 6 + 2 + 2

    inserted = analytics.metric("videogen_analytics_rows_total", outcome="inserted")
    analytics.produce(events)  # the topic replayed
    wait_for("the replay's rows", rows_landed(analytics, inserted, 2 * 16))
    assert analytics.query(stages_sql) == stages
    assert len(analytics.query("SELECT job_id FROM finished_jobs")) == 4

    analytics.stop_store()
    failures = analytics.metric("videogen_analytics_insert_failures_total")
    late = completed_job("vg_late", 1_763_700_900.0, 9.0)
    analytics.produce(late)
    wait_for(
        "a failed insert", lambda: analytics.metric("videogen_analytics_insert_failures_total") > failures
    )
    assert analytics.metric("videogen_analytics_buffered_rows") > 0
    analytics.start_store()
    wait_for("the buffer to drain", lambda: analytics.metric("videogen_analytics_buffered_rows") == 0)
    late_stages = analytics.query(
        "SELECT stage, count() AS n FROM stages WHERE job_id = 'vg_late' GROUP BY stage"
    )
    assert sorted((s["stage"], s["n"]) for s in late_stages) == [
        (stage, 1) for stage in sorted(("accepted", "validate", "fetch", "render", "upload", "notify"))
    ]
    assert analytics.metric("videogen_analytics_rows_total", outcome="dropped") == 0
