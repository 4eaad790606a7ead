"""Runs one FFmpeg process: progress from `-progress pipe:1`, cancel, timeout, stderr tail.

FFmpeg runs in its own session (process group) so that killing it also kills anything it
spawned, and a cancelled render never leaves an encoder behind.

A failed run's error carries an excerpt of FFmpeg's stderr, not all of it: the last meaningful
lines, each line and all of them bounded (FFmpeg may echo a whole filter graph on one line), its
banner dropped, heap addresses (`[Parsed_scale_0 @ 0x55d...]`) removed so equal failures read the
same, and http(s) URLs without their query strings (presigned URLs carry secrets).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from media.netguard import redact
from schemas.errors import ErrorCode, JobError
from streams.tracing import ffmpeg_span

ProgressCallback = Callable[[float], Awaitable[None]]
STDERR_LINES = 20
STDERR_CHARS = 2000  # all the lines of an error's stderr_tail together
LINE_CHARS = 400  # one line of it; a longer one keeps its start and its end
_RAW_END_BYTES = 8 * 1024  # of a line's start and of its end kept before cleaning
_READ_BYTES = 64 * 1024
_NOISE = ("frame=", "size=", "Press [q]", "    ", "  Stream mapping")
_BANNER = re.compile(r"^(ffmpeg version |  built with |  configuration: |  lib(av|sw|post)\w* +\d)")
_ADDRESS = re.compile(r" ?@ 0x[0-9a-fA-F]+")
_HTTP_URL = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)
_LINE_END = re.compile(rb"\r\n|\r|\n")


# FFmpeg gets SIGKILL when the worker that started it dies (even by kill -9), so a crashed
# worker leaves no render behind to race the one that takes over its job. A tiny exec shim
# instead of preexec_fn, which is unsafe in a process with threads (Faust's consumer). A worker
# that died before prctl took effect has left the shim with another parent: it exits instead.
# Without `site` (-S) the interpreter starts in 15 ms rather than 35: a preview frame waits for it.
_SHIM = (
    "import ctypes, os, sys; ctypes.CDLL(None).prctl(1, 9); "
    "os.getppid() == int(sys.argv[1]) or sys.exit(137); os.execv(sys.argv[2], sys.argv[2:])"
)


def die_with_parent() -> tuple[str, ...]:
    return (sys.executable, "-S", "-c", _SHIM, str(os.getpid()))


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
    """Run FFmpeg to completion or raise JobError (FFMPEG_ERROR, PROCESSING_TIMEOUT, CANCELLED),
    inside a span of its own when tracing is on."""
    with ffmpeg_span(argv, duration) as span:
        try:
            await _run(binary, argv, duration, timeout_seconds, on_progress, cancel, env)
        except JobError as exc:
            span.set_attribute("error.type", str(exc.code))
            if "exit_code" in exc.details:
                span.set_attribute("ffmpeg.exit_code", exc.details["exit_code"])
            raise
        span.set_attribute("ffmpeg.exit_code", 0)


async def _run(
    binary: str,
    argv: list[str],
    duration: float,
    timeout_seconds: float,
    on_progress: ProgressCallback | None,
    cancel: asyncio.Event | None,
    env: Mapping[str, str] | None,
) -> None:
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
            {"exit_code": process.returncode, "stderr_tail": excerpt(tail)},
        )
    if process.returncode != 0:
        raise JobError(
            ErrorCode.FFMPEG_ERROR,
            "FFmpeg failed to render the video",
            {"exit_code": process.returncode, "stderr_tail": excerpt(tail)},
        )


def excerpt(lines: Sequence[str], limit: int = STDERR_CHARS) -> list[str]:
    """The newest lines whose lengths add up to at most `limit`: the error is near the end."""
    kept: list[str] = []
    total = 0
    for line in reversed(lines):
        total += len(line)
        if total > limit:
            break
        kept.append(line)
    return kept[::-1]


def clean_line(raw: str) -> str | None:
    """A stderr line as an error may show it, or None for banner, stream listing and stats."""
    line = raw.rstrip()
    if not line or line.startswith(_NOISE) or _BANNER.match(line):
        return None
    line = _HTTP_URL.sub(lambda m: redact(m.group(0)), _ADDRESS.sub("", line))
    if len(line) > LINE_CHARS:
        half = (LINE_CHARS - 5) // 2
        line = f"{line[:half]} ... {line[-half:]}"
    return line


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
    """Keeps the last meaningful lines, cleaned. Read in blocks, not lines: a line longer than the
    stream's limit would make `readline` fail."""
    line = _RawLine()
    while chunk := await stream.read(_READ_BYTES):
        *ended, rest = _LINE_END.split(chunk)
        for piece in ended:
            line.add(piece)
            _keep(tail, line.text())
            line = _RawLine()
        line.add(rest)
    _keep(tail, line.text())


class _RawLine:
    """One line as read, only its start and its end when it is long. FFmpeg cuts its own log lines
    at 64 KiB, newline included, so the end of a long line may be the next message."""

    def __init__(self) -> None:
        self.start = bytearray()
        self.end = bytearray()
        self.cut = False

    def add(self, piece: bytes) -> None:
        room = _RAW_END_BYTES - len(self.start)
        self.start += piece[:room]
        self.end += piece[room:]
        if len(self.end) > _RAW_END_BYTES:
            del self.end[:-_RAW_END_BYTES]
            self.cut = True

    def text(self) -> str:
        start, end = self.start.decode("utf-8", "replace"), self.end.decode("utf-8", "replace")
        if not self.cut:
            return start + end
        # The word the cut fell in is dropped: it may be the query string of a URL cut from its host.
        return f"{start} ... {end.partition(' ')[2]}"


def _keep(tail: deque[str], raw: str) -> None:
    line = clean_line(raw)
    if line is not None:
        tail.append(line)
