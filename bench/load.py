"""Load against a running videogen (`make run` in another terminal).

N concurrent clients submit M jobs in all on the async path, then every job is followed with
GET until it ends. Start the stack with QUICK_RESPONSE_THRESHOLD_SECONDS=0 so that every POST
answers 202 at once (the bench counts quick 200 answers separately if it does not).
Prints accepted/completed/failed/lost counts, POST and GET latency percentiles, and jobs
per minute per worker core.

    python bench/load.py --clients 8 --jobs 40 --url http://127.0.0.1:8000

The media is a color background and one image served from this process on loopback, so run the
stack with ALLOWED_SOURCE_HOSTS=127.0.0.1 as well:

    QUICK_RESPONSE_THRESHOLD_SECONDS=0 ALLOWED_SOURCE_HOSTS=127.0.0.1 make run
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg

TERMINAL = {"completed", "failed", "cancelled"}


def percentiles(samples: list[float]) -> str:
    if not samples:
        return "n/a"
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return f"p50 {cuts[49] * 1000:.1f} ms  p95 {cuts[94] * 1000:.1f} ms  p99 {cuts[98] * 1000:.1f} ms"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_media(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    os.system(f"{ffmpeg} -v error -y -f lavfi -i color=c=red:s=64x64:d=1 -frames:v 1 {root / 'logo.png'}")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/logo.png"


def job(logo: str, n: int, duration: float, width: int, height: int) -> dict[str, Any]:
    return {
        "output_format": "mp4",
        "width": width,
        "height": height,
        "duration": duration,
        "elements": [
            {"type": "color", "color": "#203040"},
            {"type": "image", "source": logo, "x": n % 200, "y": 20, "width": 64, "height": 64},
        ],
    }


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server, logo = serve_media(Path(tmp))
        post_latency: list[float] = []
        get_latency: list[float] = []
        accepted: list[str] = []
        rejected = quick = 0
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(args.jobs):
            queue.put_nowait(n)
        limits = httpx.Limits(max_connections=args.clients * 2)
        async with httpx.AsyncClient(base_url=args.url, timeout=60, limits=limits) as client:

            async def submitter() -> None:
                nonlocal rejected, quick
                while not queue.empty():
                    n = queue.get_nowait()
                    started = time.perf_counter()
                    response = await client.post(
                        "/api/v1/videocreate", json=job(logo, n, args.duration, args.width, args.height)
                    )
                    post_latency.append(time.perf_counter() - started)
                    if response.status_code in (200, 202):
                        accepted.append(response.json()["job_id"])
                        quick += response.status_code == 200
                    else:
                        rejected += 1

            began = time.perf_counter()
            await asyncio.gather(*(submitter() for _ in range(args.clients)))
            outcomes: dict[str, str] = {}
            deadline = time.monotonic() + args.timeout
            while len(outcomes) < len(accepted) and time.monotonic() < deadline:
                for job_id in [j for j in accepted if j not in outcomes]:
                    started = time.perf_counter()
                    response = await client.get(f"/api/v1/videoresult/{job_id}")
                    get_latency.append(time.perf_counter() - started)
                    status = response.json().get("status") if response.status_code == 200 else None
                    if status in TERMINAL:
                        outcomes[job_id] = str(status)
                await asyncio.sleep(0.5)
            elapsed = time.perf_counter() - began
        server.shutdown()
    completed = sum(1 for s in outcomes.values() if s == "completed")
    failed = sum(1 for s in outcomes.values() if s != "completed")
    cores = os.cpu_count() or 1
    print(
        f"clients {args.clients}  jobs {args.jobs}  output {args.duration:g}s {args.width}x{args.height} mp4"
    )
    print(
        f"accepted {len(accepted)}  rejected {rejected}  completed {completed}  failed {failed}  "
        f"lost {len(accepted) - completed - failed}"
    )
    print(
        f"POST (async path)  {percentiles(post_latency)}"
        + (f"  [{quick} answered 200 on the quick path]" if quick else "")
    )
    print(f"GET                {percentiles(get_latency)}")
    print(
        f"wall {elapsed:.1f} s  throughput {completed / elapsed * 60:.1f} jobs/min  "
        f"{completed / elapsed * 60 / cores:.1f} jobs/min per worker core ({cores} cores)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--duration", type=float, default=2.0, help="output seconds of each job")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--timeout", type=float, default=900.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
