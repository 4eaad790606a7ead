"""Job state against the size of history: does an API instance's memory or start-up grow with the
number of jobs ever run?

Starts the embedded stack (Tansu, moto S3, the analytics store, one worker, the API) on free
loopback ports, then for each N (cumulative: the history grows from one N to the next) publishes
upstream job requests straight to `videogen.jobs.requested` through the Kafka protocol until N
have ended (cheap ones that fail validation, plus a few real renders), waits until the workers'
start offsets have passed them, and measures:

- API: a cold start (a new API process) to its first correct GET of the oldest and of the newest
  job; resident memory after those GETs; GET latency p50/p99 over finished jobs it has not seen
  (each read from its record) and over the newest (in memory); time to the first SSE message;
- worker: resident memory; a restart (SIGTERM, start again) to its health check and to the end of a
  new job published after it.

    python -m bench.state                      # N = 0, 1000, 5000
    python -m bench.state --sizes 0,20000      # larger histories (about 60 jobs/s on 2 cores)

Prints one table; the ratios are against N = 0 (the target: at most 1.2 for memory and start-up).
Every process it starts is stopped at the end, on Ctrl-C and on errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.chaos import free_port, make_stack
from deploy.embedded import Child, Stack, start_api, start_infrastructure, start_worker
from schemas.settings import Settings
from streams import topics

REAL_RENDERS = 3


@dataclass
class Figures:
    n: int
    api_rss_mb: float
    first_get_oldest_s: float
    first_get_newest_s: float
    get_record_p50_ms: float
    get_record_p99_ms: float
    get_memory_p50_ms: float
    get_memory_p99_ms: float
    first_sse_ms: float
    worker_rss_mb: float
    worker_health_s: float
    worker_first_job_s: float


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree_rss_mb(pid: int) -> float:
    """The process and its children (`videogen api` runs uvicorn in-process; a worker may fork)."""
    total = rss_mb(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                total += rss_mb(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return total


def request(job_id: str, valid: bool) -> bytes:
    card = [{"type": "color", "color": "#336699"}]
    spec = {"output_format": "mp4", "width": 160, "height": 96, "duration": 1, "elements": card}
    if not valid:
        spec = {"width": 3, "elements": []}  # fails validation: a cheap job with a record all the same
    return orjson.dumps({"job_id": job_id, "tenant": "bench", "spec": spec})


async def publish(bootstrap: str, job_ids: list[str], valid: set[str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks=1)
    await producer.start()
    try:
        sends = [
            await producer.send(topics.REQUESTED, request(job_id, job_id in valid), key=job_id.encode())
            for job_id in job_ids
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


class ResultCounter:
    """Terminal results on `videogen.jobs.results`, read from the beginning and counted as they come."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.seen = 0
        self.consumer: AIOKafkaConsumer | None = None

    async def count(self) -> int:
        if self.consumer is None:
            self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
            await self.consumer.start()
            await self.consumer.topics()
            partitions = _partitions(self.consumer, topics.RESULTS)
            self.consumer.assign(partitions)
            await self.consumer.seek_to_beginning(*partitions)
        for records in (await self.consumer.getmany(timeout_ms=500, max_records=10_000)).values():
            self.seen += len(records)
        return self.seen

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()


def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]


async def start_offsets_reached(bootstrap: str) -> bool:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=topics.API_START_GROUP)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topics.EVENTS, p) for p in consumer.partitions_for_topic(topics.EVENTS) or ()
        ]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        return all([(await consumer.committed(tp) or 0) >= end for tp, end in ends.items()])
    finally:
        await consumer.stop()


def wait(what: str, check: object, timeout: float) -> float:
    start = time.monotonic()
    while not check():  # type: ignore[operator]
        if time.monotonic() - start > timeout:
            raise SystemExit(f"{what}: not done after {timeout:.0f}s")
        time.sleep(0.05)
    return time.monotonic() - start


def grow_history(stack: Stack, api: str, bootstrap: str, have: int, want: int, timeout: float) -> list[str]:
    new = [f"bench_{i:08d}" for i in range(have, want)]
    valid = set(random.sample(new, min(REAL_RENDERS, len(new))))
    asyncio.run(publish(bootstrap, new, valid))
    counter = ResultCounter(bootstrap)
    loop = asyncio.new_event_loop()
    try:
        spent = wait("jobs ending", lambda: loop.run_until_complete(counter.count()) >= want, timeout)
        loop.run_until_complete(counter.stop())
    finally:
        loop.close()
    if new:
        print(f"  {len(new)} jobs ended in {spent:.1f}s ({len(new) / max(spent, 0.001):.0f}/s)", flush=True)
    wait("start offsets", lambda: asyncio.run(start_offsets_reached(bootstrap)), 120)
    return new


def correct(client: httpx.Client, job_id: str) -> bool:
    try:
        answer = client.get(f"/api/v1/videoresult/{job_id}")
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.json().get("status") in ("completed", "failed")


def measure_api(
    stack: Stack, resolved: Settings, api_child: Child, oldest: str, newest: str, sample: list[str]
) -> tuple[Child, dict[str, float]]:
    stack.children.remove(api_child)
    assert api_child.process is not None
    api_child.process.terminate()
    api_child.process.wait(30)
    port = free_port()
    started = time.monotonic()
    child = start_api(stack, resolved, f"api-{port}", port)
    url = f"http://{resolved.host}:{port}"
    figures: dict[str, float] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        wait("API start", lambda: correct(client, oldest), 300)
        figures["first_get_oldest_s"] = time.monotonic() - started
        wait("newest", lambda: correct(client, newest), 60)
        figures["first_get_newest_s"] = time.monotonic() - started
        record_ms, memory_ms = [], []
        for job_id in sample:
            t = time.perf_counter()
            assert client.get(f"/api/v1/videoresult/{job_id}").status_code == 200
            record_ms.append((time.perf_counter() - t) * 1000)
        for _ in range(len(sample)):
            t = time.perf_counter()
            assert client.get(f"/api/v1/videoresult/{newest}").status_code == 200
            memory_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        with client.stream("GET", f"/api/v1/videoresult/{oldest}/events") as events:
            next(line for line in events.iter_lines() if line.startswith("data:"))
        figures["first_sse_ms"] = (time.perf_counter() - t) * 1000
    assert child.process is not None
    figures["api_rss_mb"] = tree_rss_mb(child.process.pid)
    figures.update(p(record_ms, "get_record"), **p(memory_ms, "get_memory"))
    return child, figures


def p(samples: list[float], name: str) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100) if len(samples) > 1 else samples * 99
    return {f"{name}_p50_ms": statistics.median(samples), f"{name}_p99_ms": cuts[98]}


def measure_worker(
    stack: Stack, worker: Child, api: str, bootstrap: str, round_no: int
) -> tuple[Child, dict[str, float]]:
    assert worker.process is not None
    figures = {"worker_rss_mb": tree_rss_mb(worker.process.pid)}
    stack.children.remove(worker)
    worker.process.terminate()
    worker.process.wait(60)
    started = time.monotonic()
    restarted = start_worker(stack, stack.settings, f"worker-r{round_no}", int(worker.env["WORKER_WEB_PORT"]))
    figures["worker_health_s"] = time.monotonic() - started
    job_id = f"bench_after_restart_{round_no}"
    asyncio.run(publish(bootstrap, [job_id], {job_id}))
    with httpx.Client(base_url=api, timeout=30) as client:
        wait("a job after the restart", lambda: correct(client, job_id), 300)
    figures["worker_first_job_s"] = time.monotonic() - started
    return restarted, figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="0,1000,5000", help="history sizes N, ascending")
    parser.add_argument("--samples", type=int, default=200, help="GETs per latency figure")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds for one N's jobs to end")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    random.seed(1)
    rows: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="bench-state-") as tmp:
        stack = make_stack(Path(tmp), args.partitions, None)
        try:
            resolved = start_infrastructure(stack)
            worker = start_worker(stack, resolved, "worker", free_port())
            api_child = start_api(stack, resolved)
            api = f"http://{resolved.host}:{resolved.port}"
            bootstrap = resolved.bootstrap_servers
            seed = [f"bench_seed_{i}" for i in range(2)]
            asyncio.run(publish(bootstrap, seed, set(seed)))
            history: list[str] = []
            with httpx.Client(base_url=api, timeout=30) as client:
                wait("seed jobs", lambda: all(correct(client, j) for j in seed), 300)
            for round_no, n in enumerate(sizes):
                print(f"N = {n}", flush=True)
                history += grow_history(stack, api, bootstrap, len(history), n, args.timeout)
                ids = seed + history
                sample = random.sample(ids, min(args.samples, len(ids)))
                api_child, api_figures = measure_api(stack, resolved, api_child, ids[0], ids[-1], sample)
                api = f"http://{resolved.host}:{api_child.env['PORT']}"
                worker, worker_figures = measure_worker(stack, worker, api, bootstrap, round_no)
                rows.append(Figures(n=n, **api_figures, **worker_figures))
        finally:
            stack.stop()
    report(rows)


def report(rows: list[Figures]) -> None:
    base = rows[0]
    print(f"\nload average {os.getloadavg()[0]:.2f}; ratios against N = {base.n}")
    header = (
        "N", "API MB", "x", "GET oldest s", "x", "GET newest s", "record GET p50/p99 ms",
        "memory GET p50/p99 ms", "1st SSE ms", "worker MB", "worker health s", "1st job s",
    )  # fmt: skip
    print(" | ".join(header))
    for r in rows:
        print(
            f"{r.n} | {r.api_rss_mb:.0f} | {r.api_rss_mb / base.api_rss_mb:.2f} | "
            f"{r.first_get_oldest_s:.2f} | {r.first_get_oldest_s / base.first_get_oldest_s:.2f} | "
            f"{r.first_get_newest_s:.2f} | "
            f"{r.get_record_p50_ms:.1f}/{r.get_record_p99_ms:.1f} | "
            f"{r.get_memory_p50_ms:.1f}/{r.get_memory_p99_ms:.1f} | {r.first_sse_ms:.0f} | "
            f"{r.worker_rss_mb:.0f} | {r.worker_health_s:.1f} | {r.worker_first_job_s:.1f}"
        )


if __name__ == "__main__":
    main()
