"""Latency of the studio's preview frames: p50 and p95 per bench composition, at the default preview
size (the output's width, at most 1280: 1280x720 for the landscape ones), cold and cached.

    .venv/bin/python -m bench.preview [--frames N] [--work DIR] [--only NAME]

Runs the preview service itself (media.preview.PreviewService, what POST /api/v1/preview/frame
calls once it has checked the body), in this process, one request at a time as a scrubbing editor
sends them. Sources are real downloads: the bench compositions' files are served over HTTP on
loopback (ALLOWED_SOURCE_HOSTS=127.0.0.1), fetched by the fetch stage's code into the source cache
by a first request, then revalidated (a conditional GET each) by every request after, as in the API.

  cold    the first request for each of N frames spread over the composition: fetched (revalidated),
          probed and hashed from the caches of earlier requests, keyed, rendered
  cached  the same frames again: keyed and answered from the frame cache
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.compositions import ALL, Composition
from bench.sources import make_sources
from media.ffmpeg_bin import ffmpeg_bin
from media.preview import PreviewService, frame_size
from media.render import planned_duration
from schemas.settings import Settings
from schemas.spec import VideoSpec

TARGET_P50_MS = 300.0


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(root: Path) -> Iterator[str]:
    """`root` over HTTP on loopback (Last-Modified on every answer: the source cache keeps them)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def served_spec(comp: Composition, base: str, root: Path) -> VideoSpec:
    """The composition with each element's source its file's URL on the server."""
    spec: dict[str, Any] = {**comp.spec, "elements": [dict(e) for e in comp.spec["elements"]]}
    for index, path in comp.sources.items():
        spec["elements"][index]["source"] = f"{base}/{path.relative_to(root).as_posix()}"
    return VideoSpec.model_validate(spec)


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:6.0f} ms   p95 {p95 * 1000:6.0f} ms"


async def bench(comp: Composition, spec: VideoSpec, settings: Settings, frames: int) -> list[float]:
    """Cold then cached latencies of `frames` frames; the first request fills the source cache."""
    service = PreviewService(settings)
    length = planned_duration(spec, comp.sources, settings)
    times = [(n + 0.37) * length / frames for n in range(frames)]
    started = time.perf_counter()
    await service.frame(spec, length / 2 + 0.011, None, "jpg")  # downloads, probes: not a scrub
    first = time.perf_counter() - started
    cold, cached = [], []
    for at in times:
        started = time.perf_counter()
        made = await service.frame(spec, at, None, "jpg")
        cold.append(time.perf_counter() - started)
        assert not made.hit
    for at in times:
        started = time.perf_counter()
        made = await service.frame(spec, at, None, "jpg")
        cached.append(time.perf_counter() - started)
        assert made.hit
    width, height = frame_size(spec, None)
    print(f"\n{comp.name}  ({width}x{height} JPEG, {frames} frames over {length:g} s)")
    print(f"  first request (downloads)  {first * 1000:6.0f} ms")
    print(f"  cold                       {_percentiles(cold)}   (target p50 <= {TARGET_P50_MS:.0f} ms)")
    print(f"  cached                     {_percentiles(cached)}")
    return cold


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=20, help="frames per composition")
    parser.add_argument("--only", help="run the compositions whose name (or function) contains this")
    parser.add_argument("--work", type=Path, help="keep sources and caches here (default: a temp dir)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="videogen-bench-"))
    root = work / "sources"
    sources = make_sources(ffmpeg_bin(Settings()), root)
    settings = Settings(
        data_dir=work / "data", allowed_source_hosts=["127.0.0.1"], max_output_duration_sec=3600
    )
    print(f"preview service in process, PREVIEW_CONCURRENCY={settings.preview_concurrency}  work={work}")
    every_cold: list[float] = []
    with serving(root) as base:
        for make in ALL:
            comp = make(sources)
            if args.only and args.only.lower() not in f"{make.__name__} {comp.name}".lower():
                continue
            every_cold += asyncio.run(bench(comp, served_spec(comp, base, root), settings, args.frames))
    print(f"\nall compositions, cold: {_percentiles(every_cold)}")


if __name__ == "__main__":
    main()
