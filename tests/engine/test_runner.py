"""The FFmpeg runner: progress, cancel, timeout and error details."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

import pytest

from media.render import render_video
from media.runner import LINE_CHARS, STDERR_CHARS, run_ffmpeg
from schemas.errors import ErrorCode, JobError
from schemas.spec import VideoSpec
from tests.engine.conftest import FFMPEG, SETTINGS, Media

ENDLESS = ["-nostdin", "-re", "-f", "lavfi", "-i", "testsrc=s=32x32:r=5", "-threads", "1", "-f", "null", "-"]


async def test_progress_rises_to_100() -> None:
    seen: list[float] = []

    async def on_progress(percent: float) -> None:
        seen.append(percent)

    argv = ["-nostdin", "-f", "lavfi", "-i", "testsrc=s=32x32:r=10:d=2", "-threads", "1", "-f", "null", "-"]
    await run_ffmpeg(
        FFMPEG, [*argv, "-progress", "pipe:1"], duration=2, timeout_seconds=60, on_progress=on_progress
    )
    assert seen and seen == sorted(seen) and seen[-1] == 100.0


async def test_cancel_kills_the_process_group() -> None:
    cancel = asyncio.Event()
    started: list[float] = []

    async def on_progress(percent: float) -> None:
        started.append(percent)
        cancel.set()

    with pytest.raises(JobError) as err:
        await run_ffmpeg(
            FFMPEG,
            [*ENDLESS, "-progress", "pipe:1", "-stats_period", "0.1"],
            duration=10,
            timeout_seconds=60,
            on_progress=on_progress,
            cancel=cancel,
        )
    assert err.value.code == ErrorCode.CANCELLED and started


async def test_timeout_stops_the_render() -> None:
    with pytest.raises(JobError) as err:
        await run_ffmpeg(FFMPEG, ENDLESS, duration=10, timeout_seconds=0.5)
    assert err.value.code == ErrorCode.PROCESSING_TIMEOUT
    assert not any(FFMPEG in _cmdline(pid) and "testsrc" in _cmdline(pid) for pid in _children())


async def test_failure_carries_the_stderr_tail() -> None:
    with pytest.raises(JobError) as err:
        await run_ffmpeg(
            FFMPEG,
            ["-nostdin", "-i", "file:/nonexistent/input.mp4", "-f", "null", "-"],
            duration=1,
            timeout_seconds=60,
        )
    assert err.value.code == ErrorCode.FFMPEG_ERROR
    assert any("No such file" in line for line in err.value.details["stderr_tail"])


async def _failure(argv: list[str]) -> JobError:
    with pytest.raises(JobError) as err:
        await run_ffmpeg(FFMPEG, ["-nostdin", "-threads", "1", *argv], duration=1, timeout_seconds=60)
    assert err.value.code == ErrorCode.FFMPEG_ERROR
    tail = err.value.details["stderr_tail"]
    assert sum(map(len, tail)) <= STDERR_CHARS and all(len(line) <= LINE_CHARS for line in tail), tail
    return err.value


async def test_a_graph_echoed_whole_is_cut_to_a_bounded_excerpt_without_addresses() -> None:
    """FFmpeg repeats the whole filter graph on the line that says what is wrong with it: here over
    64 KiB, where FFmpeg cuts the line and runs the next message on into it, and asyncio's line
    reader would fail; the banner before it is dropped."""
    graph = ";".join(f"[0:v]drawtext=text=caption{n}:x={n}:y=1[v{n}]" for n in range(2000)) + ";[1:v]null[o]"
    assert len(graph) > 64 * 1024
    source = ["-f", "lavfi", "-i", "testsrc=s=32x32:d=1"]
    error = await _failure([*source, "-filter_complex", graph, "-map", "[o]", "-f", "null", "-"])
    tail = error.details["stderr_tail"]
    [echoed] = [line for line in tail if line.startswith("[fc#0] Invalid file index 1 in filtergraph")]
    assert " ... " in echoed and len(echoed) == LINE_CHARS - 1, echoed
    assert echoed.endswith("filtergraph inputs/outputs: Invalid argument"), echoed  # the next message
    shown = "\n".join(tail)
    assert not re.search(r"0x[0-9a-f]{6,}", shown), shown
    assert "configuration:" not in shown and "ffmpeg version" not in shown, shown
    assert len(json.dumps(error.details)) < STDERR_CHARS + 500


async def test_an_input_url_is_shown_without_its_query_string() -> None:
    """A presigned URL's query string is its credential; the closed port fails at once."""
    url = "http://127.0.0.1:1/clip.mp4?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=0123456789abcdef"
    error = await _failure(["-hide_banner", "-i", url, "-f", "null", "-"])
    shown = json.dumps(error.details)
    assert "Connection refused" in shown and "http://127.0.0.1:1/clip.mp4" in shown
    assert "AKIAEXAMPLE" not in shown and "0123456789abcdef" not in shown and "X-Amz" not in shown


def _children() -> list[int]:
    me = str(os.getpid())
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if stat.read().split(") ", 1)[1].split()[1] == me:
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmd:
            return cmd.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


async def test_cancelled_render_leaves_no_output(media: Media, tmp_path: Path) -> None:
    cancel = asyncio.Event()
    cancel.set()
    spec = VideoSpec.model_validate(
        {"width": 160, "height": 120, "elements": [{"type": "video", "source": "v", "duration": 2}]}
    )
    out = tmp_path / "out.mp4"
    with pytest.raises(JobError) as err:
        await render_video(spec, {0: media.video(seconds=2)}, out, settings=SETTINGS, cancel=cancel)
    assert err.value.code == ErrorCode.CANCELLED and not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # the work directory is gone too


async def test_a_render_killed_for_memory_is_memory_limit_exceeded() -> None:
    """The kernel's OOM killer ends a process with SIGKILL; the runner did not send it."""
    with pytest.raises(JobError) as err:
        await run_ffmpeg(
            "/bin/sh", ["-c", "echo 'Cannot allocate memory' >&2; kill -9 $$"], duration=1, timeout_seconds=60
        )
    assert err.value.code == ErrorCode.MEMORY_LIMIT_EXCEEDED
    assert "smaller output" in err.value.message
