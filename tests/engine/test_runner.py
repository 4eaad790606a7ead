"""The FFmpeg runner: progress, cancel, timeout and error details."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from media.render import render_video
from media.runner import run_ffmpeg
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
