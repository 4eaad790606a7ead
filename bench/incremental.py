"""The chunk cache, measured: one template rendered for N names on one worker, with the cache and
without it. The template is a personalised video: a name over a photo for its first seconds (the
merge fields), then a body every render shares (a looping clip, a moving bar, titles, music).

Without the cache a lone worker renders each job in one pass; with it, each job is split into
chunks (media.chunked, as the render stage does on a lone worker), the chunks whose key is stored
are copied and the others rendered and stored. The cache is a local directory here
(media.chunkcache.DirectoryStore; the workers use the bucket, which adds a download per chunk).
Printed: total wall and CPU of both batches and their ratio, and the first cached render (which
finds nothing and seeds the cache) against a plain one-pass render of the same job.

    python -m bench.incremental [--size 1920x1080] [--renders 20] [--seconds 60] [--changed 6]
                                [--chunk-seconds 6] [--work DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any

from media.chunkcache import DirectoryStore
from media.chunked import render_chunked
from media.ffmpeg_bin import ffmpeg_bin
from media.render import RenderOutcome, render_video
from schemas.settings import Settings
from schemas.spec import VideoSpec

NAMES = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken",
    "Dennis", "Radia", "Tim", "Sophie", "Linus", "Guido", "Hedy", "Claude", "Katherine", "Niklaus",
]  # fmt: skip


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(job: Callable[[], Coroutine[Any, Any, RenderOutcome]]) -> tuple[float, float, RenderOutcome]:
    wall, cpu = time.perf_counter(), _cpu()
    outcome = asyncio.run(job())
    return time.perf_counter() - wall, _cpu() - cpu, outcome


def _make(ffmpeg: str, out: Path, *args: str) -> Path:
    if not out.exists():
        subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *args, str(out)], check=True)
    return out


def sources(ffmpeg: str, root: Path, width: int, height: int) -> dict[str, Path]:
    """A photo, a 10 s clip and a minute of music, at the output's size (lavfi; nothing downloaded)."""
    root.mkdir(parents=True, exist_ok=True)
    size = f"{width}x{height}"
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p"]
    return {
        "photo": _make(ffmpeg, root / f"photo_{size}.png", "-f", "lavfi", "-i",
                       f"mandelbrot=s={size}", "-frames:v", "1"),
        "clip": _make(ffmpeg, root / f"clip_{size}.mp4", "-f", "lavfi", "-i",
                      f"testsrc2=s={size}:r=30:d=10", *x264),
        "music": _make(ffmpeg, root / "music.m4a", "-f", "lavfi", "-i", "sine=f=220:d=60", "-c:a", "aac"),
    }  # fmt: skip


def template(name: str, size: tuple[int, int], seconds: float, changed: float) -> dict[str, Any]:
    """The template filled with `name`: photo and name for `changed` seconds, then the shared body."""
    width, height = size
    bar = [{"time": 0, "value": 0}, {"time": seconds, "value": width - width // 10}]
    titles = [
        {"type": "text", "text": f"Part {k // 10}", "track": 3, "time": k, "duration": 5, "x": "5%",
         "y": "5%", "font_size": "6vmin", "animations": [{"type": "fade"}, {"type": "fade", "time": "end"}]}
        for k in range(int(changed) + 4, int(seconds) - 4, 10)
    ]  # fmt: skip
    return {
        "width": width,
        "height": height,
        "fps": 30,
        "duration": seconds,
        "elements": [
            {"type": "video", "source": "clip", "duration_mode": "loop", "fit_mode": "cover", "track": 0},
            {"type": "image", "source": "photo", "time": 0, "duration": changed, "track": 1,
             "fade_out": 0.5},
            {"type": "text", "text": f"Hello, {name}!", "time": 0.5, "duration": changed - 0.5, "track": 2,
             "font_size": "9vmin", "y": "70%", "color": "#ffffff", "shadow": {"x": 3, "y": 3},
             "animations": [{"type": "slide", "direction": "up"}]},
            {"type": "color", "color": "#ffcc00", "track": 2, "width": "10%", "height": "2%", "y": "95%",
             "x": bar},
            *titles,
            {"type": "audio", "source": "music", "duration_mode": "loop", "fade_out": 2},
        ],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT of the output")
    parser.add_argument("--renders", type=int, default=20, help=f"names rendered (at most {len(NAMES)})")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the video")
    parser.add_argument("--changed", type=float, default=6.0, help="seconds the merge fields show")
    parser.add_argument("--chunk-seconds", type=float, default=Settings().chunk_cache_seconds)
    parser.add_argument("--workers", type=int, default=1, help="chunks rendered at once")
    parser.add_argument("--work", type=Path, help="keep sources and outputs here (default: a temp dir)")
    args = parser.parse_args()
    width, height = (int(side) for side in args.size.lower().split("x"))
    names = NAMES[: args.renders]
    work = args.work or Path(tempfile.mkdtemp(prefix="videogen-incremental-"))
    settings = Settings()
    files = sources(ffmpeg_bin(settings), work / "sources", width, height)
    out = work / "out"
    out.mkdir(parents=True, exist_ok=True)

    def spec(name: str) -> tuple[VideoSpec, dict[int, Path]]:
        model = VideoSpec.model_validate(template(name, (width, height), args.seconds, args.changed))
        by_index = {
            p.index: files[str(getattr(p.element, "source", ""))]
            for p in model.placed
            if getattr(p.element, "source", None) in files
        }
        return model, by_index

    print(
        f"{len(names)} renders of a {args.seconds:g} s {width}x{height} 30 fps template, merge fields in "
        f"the first {args.changed:g} s, chunks of ~{args.chunk_seconds:g} s, one worker"
    )
    plain_wall = plain_cpu = 0.0
    firsts: dict[str, float] = {}
    for n, name in enumerate(names):
        model, by_index = spec(name)
        wall, cpu, _ = _timed(partial(render_video, model, by_index, out / "plain.mp4", settings=settings))
        plain_wall, plain_cpu = plain_wall + wall, plain_cpu + cpu
        if n == 0:
            firsts["plain"] = wall
    print(f"cache off (one pass each) {plain_wall:8.1f} s wall {plain_cpu:8.1f} s CPU")

    shutil.rmtree(work / "cache", ignore_errors=True)  # every run starts with an empty cache
    cache = DirectoryStore(work / "cache", Settings().chunk_cache_max_mb)
    cached_wall = cached_cpu = 0.0
    reused = rendered = 0
    for n, name in enumerate(names):
        model, by_index = spec(name)
        wall, cpu, outcome = _timed(
            partial(
                render_chunked, model, by_index, out / "cached.mp4", settings=settings,
                duration=args.seconds, chunk_seconds=args.chunk_seconds, cache=cache, workers=args.workers,
            )
        )  # fmt: skip
        cached_wall, cached_cpu = cached_wall + wall, cached_cpu + cpu
        reused, rendered = reused + outcome.chunks_reused, rendered + outcome.chunks_rendered
        if n == 0:
            firsts["cached"] = wall
    print(f"cache on (chunked)        {cached_wall:8.1f} s wall {cached_cpu:8.1f} s CPU")
    print(f"  chunks reused {reused}, rendered {rendered}")
    print(
        f"ratio cached/uncached     {cached_wall / plain_wall:8.3f} wall {cached_cpu / plain_cpu:8.3f} CPU "
        "(target <= 0.25)"
    )
    print(
        f"first render              {firsts['cached']:8.1f} s cached (seeding) vs {firsts['plain']:.1f} s "
        f"plain: {firsts['cached'] / firsts['plain']:.3f}x (target <= 1.05)"
    )


if __name__ == "__main__":
    main()
