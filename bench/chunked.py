"""Chunked rendering, measured: a 3-minute 1080p composition rendered in one pass, then in chunks
with 1 and 2 workers on this machine, with each chunk's CPU and wall time.

The projection for 4, 8 and 16 workers schedules the measured chunk wall times (each chunk rendered
alone on this machine, so with its cores) longest first onto the least loaded worker, in parallel
with the sound rendered once by the joining worker, then adds the measured join. It assumes workers
like this one, sources already in their caches, and S3 transfers negligible next to rendering.

    python -m bench.chunked [--chunk-seconds 20] [--work DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import resource
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.sources import MONTAGE_CLIP_SECONDS, make_sources
from media.chunked import chunk_path, render_chunked, render_sound
from media.chunks import chunk_spec, plan
from media.ffmpeg_bin import ffmpeg_bin
from media.render import join_parts, render_part, render_video
from schemas.settings import Settings
from schemas.spec import VideoSpec

DURATION = 180


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(job: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), _cpu()
    asyncio.run(job())
    return time.perf_counter() - wall, _cpu() - cpu


def composition(clips: list[Path], music: Path) -> tuple[dict[str, Any], dict[int, Path]]:
    """Clips joined by crossfades (looping to fill 3 minutes), a keyframed logo bar, titles."""
    elements: list[dict[str, Any]] = []
    step = MONTAGE_CLIP_SECONDS - 1
    sources: dict[int, Path] = {}
    n, start = 0, 0.0
    while start < DURATION:
        clip: dict[str, Any] = {
            "type": "video",
            "source": f"clip{n}",
            "time": start,
            "duration": MONTAGE_CLIP_SECONDS,
        }
        if n:
            clip["transition"] = {"type": "crossfade", "duration": 1}
        sources[len(elements)] = clips[n % len(clips)]
        elements.append(clip)
        n, start = n + 1, start + step
    bar = [{"time": 0, "value": 0}, {"time": DURATION, "value": 1800}]
    elements.append(
        {"type": "color", "color": "#ffcc00", "track": 2, "width": 120, "height": 24, "y": 1020, "x": bar}
    )
    for k in range(0, DURATION, 30):
        elements.append(
            {"type": "text", "text": f"Minute {k // 60}, second {k % 60}", "track": 3, "time": k + 2,
             "duration": 6, "x": 80, "y": 80, "font_size": 72, "color": "#ffffff",
             "animations": [{"type": "slide", "direction": "left"}, {"type": "fade", "time": "end"}]}
        )  # fmt: skip
    sources[len(elements)] = music
    elements.append({"type": "audio", "source": "music", "duration_mode": "loop"})
    spec = {"width": 1920, "height": 1080, "fps": 30, "duration": DURATION, "elements": elements}
    return spec, sources


def _schedule(chunks: list[float], workers: int) -> float:
    """Makespan of the chunks, longest first, each onto the worker free soonest."""
    loads = [0.0] * workers
    for seconds in sorted(chunks, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + seconds)
    return max(loads)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunk-seconds", type=float, default=20.0)
    parser.add_argument("--work", type=Path, help="keep sources and outputs here (default: a temp dir)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="videogen-chunked-"))
    settings = Settings()
    src = make_sources(ffmpeg_bin(settings), work / "sources")
    raw, sources = composition(src.clips, src.music)
    spec = VideoSpec.model_validate(raw)
    out = work / "out"
    out.mkdir(parents=True, exist_ok=True)
    chunks = plan(spec, DURATION, args.chunk_seconds)
    print(
        f"3 min 1920x1080 30 fps, {len(spec.elements)} elements, "
        f"{len(chunks)} chunks of ~{args.chunk_seconds:g} s"
    )

    one_wall, one_cpu = _timed(lambda: render_video(spec, sources, out / "one_pass.mp4", settings=settings))
    print(f"one pass           {one_wall:7.1f} s wall {one_cpu:7.1f} s CPU")

    walls, cpus = [], []
    for chunk in chunks:
        target = chunk_path(out / "chunked1.mp4", chunk)
        wall, cpu = _timed(
            lambda c=chunk, t=target: render_part(
                chunk_spec(spec, c), sources, t, settings=settings, tracks="video"
            )
        )
        walls.append(wall)
        cpus.append(cpu)
    sound_wall, sound_cpu = _timed(lambda: render_sound(spec, sources, out / "sound.m4a", settings))
    paths = [chunk_path(out / "chunked1.mp4", chunk) for chunk in chunks]
    join_wall, _ = _timed(
        lambda: join_parts(
            spec, paths, out / "sound.m4a", out / "chunked1.mp4", sources=sources, settings=settings
        )
    )
    print(
        f"chunked, 1 worker  {sum(walls) + sound_wall + join_wall:7.1f} s wall "
        f"{sum(cpus) + sound_cpu:7.1f} s CPU"
    )
    print("  per chunk: " + ", ".join(f"{c:.1f}" for c in cpus) + " s CPU")
    print(f"  sound {sound_wall:.1f} s wall, join {join_wall:.1f} s wall")

    two_wall, two_cpu = _timed(
        lambda: render_chunked(
            spec, sources, out / "chunked2.mp4", settings=settings, duration=DURATION,
            chunk_seconds=args.chunk_seconds, workers=2,
        )
    )  # fmt: skip
    print(f"chunked, 2 workers {two_wall:7.1f} s wall {two_cpu:7.1f} s CPU (both on this machine's 2 cores)")
    for workers in (4, 8, 16):
        makespan = max(_schedule(walls, workers), sound_wall) + join_wall
        print(
            f"  projected, {workers:2d} workers like this one: {makespan:6.1f} s "
            f"({one_wall / makespan:.1f}x faster than one pass)"
        )


if __name__ == "__main__":
    main()
