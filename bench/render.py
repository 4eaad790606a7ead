"""Wall time of the engine against a hand-written FFmpeg command and MoviePy, same machine, same videos.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m bench.render [--threads N] [--our-threads N] [--repeat N] [--skip-moviepy]
                                     [--only NAME]

Prints, per composition, the three wall times (ours and FFmpeg: the best of --repeat
interleaved runs) and the ratios the issue targets: ours / hand-written FFmpeg (<= 1.15) and
ours / MoviePy (<= 0.1). With --repeat above 1 it also prints the median of each run's ratio to
the FFmpeg run beside it, the figure least moved by a shared machine's drifts. The hand-written
command and MoviePy get --threads (every core by default); our engine runs with its default
settings (FFMPEG_THREADS unset: a lone render takes every core) unless --our-threads says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.compositions import ALL, Composition
from bench.sources import make_sources
from media.ffmpeg_bin import ffmpeg_bin
from media.probe import probe
from media.render import render_video
from schemas.settings import Settings
from schemas.spec import VideoSpec


@dataclass(frozen=True)
class Timing:
    """Wall seconds, and CPU seconds of this process and its children (FFmpeg): the CPU figure
    is not inflated by other work on a shared machine, the wall figure is what a user waits."""

    wall: float
    cpu: float


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(action: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), _cpu()
    action()
    return Timing(time.perf_counter() - wall, _cpu() - cpu)


def _in_child(job: Callable[[Path, int], None], out: Path, threads: int) -> None:
    """Runs MoviePy in its own process, so all its CPU (and its readers') is counted when it ends."""
    process = multiprocessing.get_context("fork").Process(target=job, args=(out, threads))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"MoviePy failed with exit code {process.exitcode}")


def _wall(timing: Timing) -> float:
    return timing.wall


def _describe(path: Path) -> str:
    info = probe(path)
    return f"{info.width}x{info.height} {info.duration or 0:.2f}s {info.video_codec}/{info.audio_codec}"


def bench(
    comp: Composition, work: Path, threads: int, *, our_threads: int, repeat: int, with_moviepy: bool
) -> dict[str, Timing]:
    settings = Settings(ffmpeg_threads=our_threads, max_output_duration_sec=3600)
    spec = VideoSpec.model_validate(comp.spec)
    ours_out, hand_out, mp_out = work / "ours.mp4", work / "hand.mp4", work / "moviepy.mp4"
    ffmpeg = ffmpeg_bin(settings)
    hand_cmd = [
        ffmpeg,
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        *comp.ffmpeg_args,
        "-threads",
        str(threads),
        "-filter_complex_threads",
        str(threads),
        str(hand_out),
    ]

    def ours() -> None:
        asyncio.run(render_video(spec, comp.sources, ours_out, settings=settings))

    def hand() -> None:
        subprocess.run(hand_cmd, check=True)

    runs = [(_timed(ours), _timed(hand)) for _ in range(repeat)]  # interleaved: load drifts hit both
    times = {"ours": min((r[0] for r in runs), key=_wall), "ffmpeg": min((r[1] for r in runs), key=_wall)}
    paired = Timing(
        statistics.median(o.wall / h.wall for o, h in runs), statistics.median(o.cpu / h.cpu for o, h in runs)
    )
    if with_moviepy:
        times["moviepy"] = _timed(lambda: _in_child(comp.moviepy, mp_out, threads))
    print(f"\n{comp.name}")
    for name, path in (("ours", ours_out), ("ffmpeg", hand_out), ("moviepy", mp_out)):
        if name in times:
            timing = times[name]
            print(f"  {name:8s} {timing.wall:7.2f} s wall {timing.cpu:7.2f} s CPU   {_describe(path)}")
    _ratio("ours / hand-written FFmpeg", times["ours"], times["ffmpeg"], "<= 1.15")
    if repeat > 1:  # each run's ratio to the FFmpeg run beside it: one lucky or slow run moves it least
        _ratio("median of the paired ratios", paired, Timing(1.0, 1.0), f"<= 1.15, {repeat} pairs")
    if "moviepy" in times:
        _ratio("ours / MoviePy", times["ours"], times["moviepy"], "<= 0.1")
    return times


def _ratio(label: str, ours: Timing, other: Timing, target: str) -> None:
    wall, cpu = ours.wall / other.wall, ours.cpu / other.cpu
    print(f"  {label:27s} = {wall:.3f} wall, {cpu:.3f} CPU   (target {target})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="threads of hand-written FFmpeg, MoviePy"
    )
    parser.add_argument(
        "--our-threads", type=int, default=0, help="FFMPEG_THREADS for our engine (0: its default sizing)"
    )
    parser.add_argument("--skip-moviepy", action="store_true", help="only compare with hand-written FFmpeg")
    parser.add_argument("--repeat", type=int, default=1, help="runs of ours and FFmpeg; the best is kept")
    parser.add_argument("--only", help="run the compositions whose name (or function) contains this")
    parser.add_argument("--work", type=Path, help="keep sources and outputs here (default: a temp dir)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="videogen-bench-"))
    sources = make_sources(ffmpeg_bin(Settings()), work / "sources")
    print(f"threads={args.threads}  our FFMPEG_THREADS={args.our_threads or 'default'}  work={work}")
    for make in ALL:
        comp = make(sources)
        if args.only and args.only.lower() not in f"{make.__name__} {comp.name}".lower():
            continue
        out_dir = work / make.__name__
        out_dir.mkdir(parents=True, exist_ok=True)
        bench(
            comp,
            out_dir,
            args.threads,
            our_threads=args.our_threads,
            repeat=args.repeat,
            with_moviepy=not args.skip_moviepy,
        )


if __name__ == "__main__":
    main()
