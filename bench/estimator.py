"""How right the processing-time estimate is on a mixed workload, against a running videogen.

The workload: sequential jobs of four sizes (each POSTed once the one before has ended), then a
burst of concurrent jobs cycling through the same four. The sizes, all from the sample media
`videogen up` stores in the embedded bucket (s3://videogen/samples/...):

    card   640x360,  3 s: a colour, a logo and a title
    prd    720x1280, 6 s: examples/prd.json (the clip cropped to portrait, a logo)
    copy   1280x720, 6 s: the clip alone, which the render stream-copies (the fast path)
    long   1280x720, 15 s: the clip looped, a logo, a title and music

The estimator learns from finished jobs, so the bench first runs an explicit warm-up (rounds of
the four sizes and a burst), waits for the analytics store and the API's refit, and only then
runs the measured workload. It prints the median |actual/estimated - 1| of the measured jobs by
phase and size, the bundled `estimate_accuracy` query on the measured jobs, then
`videogen analytics query estimate_accuracy` as it is (every job in the store, the warm-up's too).
Start the stack on a fresh DATA_DIR, so that the store holds only this run's history, and with a
short refit interval:

    DATA_DIR=$(mktemp -d) ESTIMATOR_REFRESH_SECONDS=5 videogen up &
    python -m bench.estimator --url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from analytics.cli import resolve_sql

TERMINAL = {"completed", "failed", "cancelled"}
SIZES = ("card", "prd", "copy", "long")


def spec(size: str, bucket: str) -> dict[str, Any]:
    clip, logo, music = (f"s3://{bucket}/samples/{name}" for name in ("clip.mp4", "logo.png", "music.m4a"))
    title = {"type": "text", "text": "Summer sale", "track": 3, "y": "70%", "font_size": "8vmin"}
    corner = {
        "type": "image",
        "source": logo,
        "track": 2,
        "x": "5%",
        "y": "5%",
        "width": "20%",
        "height": "20%",
    }
    if size == "card":
        elements = [{"type": "color", "color": "#203040"}, corner, title]
        return {"output_format": "mp4", "width": 640, "height": 360, "duration": 3, "elements": elements}
    if size == "prd":
        elements = [
            {"type": "video", "source": clip, "track": 1},
            {**corner, "width": "25%", "height": "25%"},
        ]
        return {"output_format": "mp4", "width": 720, "height": 1280, "elements": elements}
    if size == "copy":
        return {
            "output_format": "mp4",
            "width": 1280,
            "height": 720,
            "elements": [{"type": "video", "source": clip}],
        }
    elements = [
        {"type": "video", "source": clip, "track": 1, "duration_mode": "loop", "duration": 15},
        corner,
        title,
        {"type": "audio", "source": music, "duration_mode": "loop", "duration": 15, "volume": 0.5},
    ]
    return {"output_format": "mp4", "width": 1280, "height": 720, "elements": elements}


@dataclass(frozen=True)
class Job:
    job_id: str
    size: str
    phase: str


async def submit(client: httpx.AsyncClient, size: str, phase: str, bucket: str) -> Job:
    response = await client.post("/api/v1/videocreate", json=spec(size, bucket))
    if response.status_code not in (200, 202):
        raise SystemExit(f"POST {size}: {response.status_code} {response.text}")
    return Job(response.json()["job_id"], size, phase)


async def wait_ended(client: httpx.AsyncClient, job: Job, timeout: float = 900.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = (await client.get(f"/api/v1/videoresult/{job.job_id}")).json().get("status")
        if status in TERMINAL:
            return str(status)
        await asyncio.sleep(0.25)
    raise SystemExit(f"{job.job_id} ({job.size}) did not end within {timeout:.0f} s")


async def sequential(client: httpx.AsyncClient, rounds: int, phase: str, bucket: str) -> list[Job]:
    jobs = []
    for _ in range(rounds):
        for size in SIZES:
            job = await submit(client, size, phase, bucket)
            await wait_ended(client, job)
            jobs.append(job)
    return jobs


async def burst(client: httpx.AsyncClient, count: int, phase: str, bucket: str) -> list[Job]:
    """`count` jobs POSTed at once, cycling through the sizes, then followed until all end."""
    jobs = await asyncio.gather(*(submit(client, SIZES[n % len(SIZES)], phase, bucket) for n in range(count)))
    await asyncio.gather(*(wait_ended(client, job) for job in jobs))
    return list(jobs)


def analytics(sql: str, fmt: str = "json") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "analytics", "query", sql, "--format", fmt],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"analytics query failed: {done.stderr}")
    return done.stdout


def finished(jobs: list[Job], timeout: float = 120.0) -> dict[str, dict[str, Any]]:
    """The jobs' rows in finished_jobs, once all have arrived (rows are inserted in batches)."""
    ids = ", ".join(f"'{job.job_id}'" for job in jobs)
    sql = (
        "SELECT job_id, status, processing_seconds, estimated_seconds, estimate_ratio "
        f"FROM finished_jobs WHERE job_id IN ({ids})"
    )
    deadline = time.monotonic() + timeout
    while True:
        rows = {row["job_id"]: row for row in orjson.loads(analytics(sql))}
        if len(rows) == len(jobs) or time.monotonic() > deadline:
            return rows
        time.sleep(1)


def error(row: dict[str, Any]) -> float:
    return abs(float(row["estimate_ratio"]) - 1)


def report(jobs: list[Job], rows: dict[str, dict[str, Any]]) -> None:
    groups: defaultdict[str, list[float]] = defaultdict(list)
    for job in jobs:
        row = rows.get(job.job_id)
        if row is None or row["status"] != "completed" or row["estimate_ratio"] is None:
            print(f"  {job.job_id} ({job.phase} {job.size}): no completed row: {row}")
            continue
        groups[job.phase].append(error(row))
        groups[f"{job.phase} {job.size}"].append(error(row))
        groups["all measured"].append(error(row))
    print(f"{'jobs':<20} {'n':>3}  median |actual/estimated - 1|")
    for name in sorted(groups, key=lambda g: (g != "all measured", g)):
        print(f"{name:<20} {len(groups[name]):>3}  {statistics.median(groups[name]):.3f}")


def show_jobs(jobs: list[Job], rows: dict[str, dict[str, Any]]) -> None:
    for job in jobs:
        row = rows.get(job.job_id, {})
        print(
            f"  {job.phase:<10} {job.size:<5} actual {float(row.get('processing_seconds') or 0):6.2f} s"
            f"  estimated {float(row.get('estimated_seconds') or 0):6.2f} s"
        )


async def run(args: argparse.Namespace) -> None:
    history = orjson.loads(analytics("SELECT count() AS n FROM finished_jobs"))[0]["n"]
    print(f"history before the warm-up: {history} finished jobs; {os.cpu_count()} cores")
    timeout = httpx.Timeout(10.0, read=120.0)
    limits = httpx.Limits(max_connections=max(100, args.burst * 2))
    async with httpx.AsyncClient(base_url=args.url, timeout=timeout, limits=limits) as client:
        began = time.monotonic()
        warmup = await sequential(client, args.warmup_rounds, "warm-up", args.bucket)
        if args.warmup_burst:
            warmup += await burst(client, args.warmup_burst, "warm-up", args.bucket)
        finished(warmup)
        print(f"warm-up: {len(warmup)} jobs in {time.monotonic() - began:.0f} s; settling {args.settle:g} s")
        await asyncio.sleep(args.settle)
        began = time.monotonic()
        measured = await sequential(client, args.rounds, "sequential", args.bucket)
        measured += await burst(client, args.burst, "burst", args.bucket)
        print(f"measured: {len(measured)} jobs in {time.monotonic() - began:.0f} s\n")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min) at the end, this stack included: {load}")
    rows = finished(measured)
    if args.verbose:
        show_jobs(measured, rows)
    report(measured, rows)
    ids = ", ".join(f"'{job.job_id}'" for job in measured)
    only_measured = resolve_sql("estimate_accuracy").replace(
        "FROM finished_jobs", f"FROM (SELECT * FROM finished_jobs WHERE job_id IN ({ids}))"
    )
    print("\nestimate_accuracy on the measured jobs:")
    print(analytics(only_measured, "table"))
    print("videogen analytics query estimate_accuracy (every job in the store, warm-up included):")
    print(analytics("estimate_accuracy", "table"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--bucket", default="videogen", help="the bucket holding samples/")
    parser.add_argument("--warmup-rounds", type=int, default=3, help="sequential rounds of the four sizes")
    parser.add_argument("--warmup-burst", type=int, default=40, help="jobs of the warm-up burst")
    parser.add_argument(
        "--settle", type=float, default=15.0, help="seconds after the warm-up, > ESTIMATOR_REFRESH_SECONDS"
    )
    parser.add_argument("--rounds", type=int, default=3, help="measured sequential rounds of the four sizes")
    parser.add_argument("--burst", type=int, default=40, help="jobs of the measured burst")
    parser.add_argument("--verbose", action="store_true", help="print every measured job")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
