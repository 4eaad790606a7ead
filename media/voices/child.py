"""Runs an engine (Pico, pocketsphinx, FFmpeg) in a child process bounded in time and size.

The engines are C libraries that hold the GIL for seconds and whose output grows with their input,
so the worker never runs them itself: a child gets its request as a file on stdin, writes its
files and a JSON answer on stdout, and is killed (its whole process group) when the deadline
passes. Every file it writes, stdout and stderr included, is capped by RLIMIT_FSIZE: a write past
the cap ends it with SIGXFSZ. Like FFmpeg (media/runner.py) it dies with the worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import media
from media.runner import clean_line, excerpt
from schemas.errors import ErrorCode, JobError

# prctl(PR_SET_PDEATHSIG, SIGKILL), the file-size cap, then exec: no preexec_fn in a threaded worker.
# Python ignores SIGXFSZ and an ignored signal stays ignored across exec: the shim restores it, and
# the Python engines (`bounded()`) after their own interpreter ignored it again.
_SHIM = (
    "import ctypes, os, resource, signal, sys; ctypes.CDLL(None).prctl(1, 9); "
    "os.getppid() == int(sys.argv[1]) or sys.exit(137); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2]))); "
    "signal.signal(signal.SIGXFSZ, signal.SIG_DFL); os.execv(sys.argv[3], sys.argv[3:])"
)
_PROJECT_ROOT = str(Path(media.__file__).resolve().parent.parent)
_STDERR_TAIL_BYTES = 16 * 1024


class Deadline:
    """One time budget shared by the steps of a call (VOICE_TIMEOUT_SECONDS)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self, what: str) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise timed_out(what, self.seconds)
        return left


def timed_out(what: str, seconds: float) -> JobError:
    return JobError(
        ErrorCode.PROCESSING_TIMEOUT,
        f"{what} took longer than VOICE_TIMEOUT_SECONDS={seconds:g} s and was stopped; "
        "use a shorter text or audio, or raise the limit",
    )


class TooLarge(Exception):
    """The child wrote past its size cap; the caller says what that means for the user."""


def bounded() -> None:
    """First call of an engine's child process: a write past the size cap ends it with SIGXFSZ."""
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)


def python_module(module: str) -> list[str]:
    return [sys.executable, "-m", module]


def run(
    argv: Sequence[str],
    *,
    request: bytes,
    deadline: Deadline,
    max_bytes: int,
    what: str,
    failure: ErrorCode = ErrorCode.INTERNAL_ERROR,
) -> bytes:
    """Run `argv` with `request` on stdin and return its stdout, or raise: PROCESSING_TIMEOUT when
    the deadline passes (the child and its group are killed), TooLarge when it wrote more than
    `max_bytes` into any file, `failure` with its stderr's tail when it exits non-zero."""
    timeout = deadline.remaining(what)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [_PROJECT_ROOT, os.environ.get("PYTHONPATH")])),
    }
    with (
        tempfile.TemporaryFile() as stdin,
        tempfile.TemporaryFile() as stdout,
        tempfile.TemporaryFile() as stderr,
    ):
        stdin.write(request)
        stdin.seek(0)
        process = subprocess.Popen(
            [sys.executable, "-c", _SHIM, str(os.getpid()), str(max_bytes), *argv],
            stdin=stdin, stdout=stdout, stderr=stderr, start_new_session=True, env=env,
        )  # fmt: skip
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise timed_out(what, deadline.seconds) from None
        except BaseException:
            _kill(process)
            raise
        if returncode == -signal.SIGXFSZ:
            raise TooLarge(what)
        if returncode != 0:
            raise JobError(
                failure,
                f"{what} failed (exit code {returncode})",
                {"exit_code": returncode, "stderr_tail": _tail(stderr)},
            )
        stdout.seek(0)
        return stdout.read(max_bytes)


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the child's group while the child, its leader, is not yet reaped (so the group
    id cannot have been reused)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(stderr: IO[bytes]) -> list[str]:
    size = stderr.seek(0, os.SEEK_END)
    stderr.seek(max(0, size - _STDERR_TAIL_BYTES))
    text = stderr.read().decode("utf-8", "replace")
    return excerpt([line for raw in text.splitlines() if (line := clean_line(raw)) is not None])
