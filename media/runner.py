"""Runs one FFmpeg process: progress from `-progress pipe:1`, cancel, timeout, stderr tail.

FFmpeg runs in its own session (process group) so that killing it also kills anything it
spawned, and a cancelled render never leaves an encoder behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from schemas.errors import ErrorCode, JobError

ProgressCallback = Callable[[float], Awaitable[None]]
STDERR_LINES = 20
_NOISE = ("frame=", "size=", "Press [q]", "    ", "  Stream mapping")


# FFmpeg gets SIGKILL when the worker that started it dies (even by kill -9), so a crashed
# worker leaves no render behind to race the one that takes over its job. A tiny exec shim
# instead of preexec_fn, which is unsafe in a process with threads (Faust's consumer). A worker
# that died before prctl took effect has left the shim with another parent: it exits instead.
_SHIM = (
    "import ctypes, os, sys; ctypes.CDLL(None).prctl(1, 9); "
    "os.getppid() == int(sys.argv[1]) or sys.exit(137); os.execv(sys.argv[2], sys.argv[2:])"
)


def die_with_parent() -> tuple[str, ...]:
    return (sys.executable, "-c", _SHIM, str(os.getpid()))


async def run_ffmpeg(
    binary: str,
    argv: list[str],
    *,
    duration: float,
    timeout_seconds: float,
    on_progress: ProgressCallback | None = None,
    cancel: asyncio.Event | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run FFmpeg to completion or raise JobError (FFMPEG_ERROR, PROCESSING_TIMEOUT, CANCELLED)."""
    process = await asyncio.create_subprocess_exec(
        *die_with_parent(), binary, *argv,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True, env={**os.environ, **(env or {})},
    )  # fmt: skip
    tail: deque[str] = deque(maxlen=STDERR_LINES)
    assert process.stdout is not None and process.stderr is not None
    work = asyncio.gather(
        _read_progress(process.stdout, duration, on_progress),
        _read_stderr(process.stderr, tail),
        process.wait(),
    )
    waiters: list[asyncio.Future[Any]] = [work]
    cancelled = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
    if cancelled is not None:
        waiters.append(cancelled)
    try:
        done, _ = await asyncio.wait(waiters, timeout=timeout_seconds, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        await _kill(process, work)
        raise
    finally:
        if cancelled is not None:
            cancelled.cancel()
    if work not in done:
        await _kill(process, work)
        if cancelled is not None and cancelled in done:
            raise JobError(ErrorCode.CANCELLED, "the render was cancelled")
        raise JobError(
            ErrorCode.PROCESSING_TIMEOUT,
            f"the render took longer than {timeout_seconds / 60:g} minutes and was stopped",
        )
    if work.exception() is not None:  # e.g. the progress callback failed: stop FFmpeg too
        await _kill(process, work)
        work.result()
    if process.returncode != 0 and _out_of_memory(process.returncode or 0, tail):
        raise JobError(
            ErrorCode.MEMORY_LIMIT_EXCEEDED,
            "the render ran out of memory: use a smaller output size, fewer or shorter layers, "
            "or give the worker more memory",
            {"exit_code": process.returncode, "stderr_tail": list(tail)},
        )
    if process.returncode != 0:
        raise JobError(
            ErrorCode.FFMPEG_ERROR,
            "FFmpeg failed to render the video",
            {"exit_code": process.returncode, "stderr_tail": list(tail)},
        )


def _out_of_memory(returncode: int, tail: deque[str]) -> bool:
    """FFmpeg failed to allocate, or the kernel's OOM killer ended it (SIGKILL we did not send)."""
    return returncode == -signal.SIGKILL or any("Cannot allocate memory" in line for line in tail)


async def _kill(process: asyncio.subprocess.Process, work: asyncio.Future[Any]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(work, timeout=10)


async def _read_progress(
    stream: asyncio.StreamReader, duration: float, on_progress: ProgressCallback | None
) -> None:
    """Parses key=value blocks; each `progress=` line ends one and reports a percent."""
    last = -1.0
    out_time = 0.0
    async for raw in stream:
        key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
        if key == "out_time_us" and value.lstrip("-").isdigit():
            out_time = max(0.0, int(value) / 1_000_000)
        elif key == "progress" and on_progress is not None:
            percent = (
                100.0 if value == "end" else min(99.9, 100.0 * out_time / duration if duration > 0 else 0.0)
            )
            if percent > last:
                last = percent
                await on_progress(round(percent, 1))


async def _read_stderr(stream: asyncio.StreamReader, tail: deque[str]) -> None:
    """Keeps the last meaningful lines: no banner, stream listings or stats."""
    async for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip()
        if line and not line.startswith(_NOISE):
            tail.append(line)
