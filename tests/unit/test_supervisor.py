"""`videogen up`'s supervisor with fake children (short Python processes): which children come back,
after which delay, and that nothing it starts is left running."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy.embedded import Backoff, Child, Stack, Supervisor
from schemas.settings import Settings

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
CRASHER = [sys.executable, "-c", "import sys; sys.exit(3)"]


class Clock:
    """Moved by hand; starts at the real monotonic time, which `Stack.spawn` stamps children with."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(Settings(data_dir=tmp_path))
    try:
        yield stack
    finally:
        stack.stop()


def child(name: str, argv: list[str], *, restartable: bool = True, ready: bool = True) -> Child:
    return Child(name, argv, lambda: ready, "nowhere", restartable=restartable)


def supervise(
    stack: Stack, clock: Callable[[], float], lines: list[str], ready_timeout: float = 90.0
) -> Supervisor:
    backoff = Backoff(first=1, cap=4, reset_after=60)
    return Supervisor(stack, backoff, ready_timeout, clock=clock, log=lines.append)


def wait_dead(c: Child, timeout: float = 10.0) -> None:
    assert c.process is not None
    c.process.wait(timeout)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_backoff_doubles_to_the_cap() -> None:
    backoff = Backoff(first=1, cap=30)
    assert [backoff.delay(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == 30


def test_dead_worker_is_restarted_after_the_backoff(stack: Stack, tmp_path: Path) -> None:
    clock, lines = Clock(), list[str]()
    worker = child("worker", SLEEPER)
    stack.start(worker)
    worker.started_at = clock.now
    supervisor = supervise(stack, clock, lines)
    assert worker.process is not None
    first_pid = worker.process.pid
    assert supervisor.poll() is None and not lines

    worker.process.kill()
    wait_dead(worker)
    assert supervisor.poll() is None
    assert lines == ["videogen: worker exited with -9; restarting in 1s (restart 1)"]
    clock.now += 0.5
    assert supervisor.poll() is None
    assert worker.process.pid == first_pid, "restarted before its delay"
    clock.now += 0.5
    assert supervisor.poll() is None
    assert worker.process.pid != first_pid and worker.process.poll() is None
    assert supervisor.poll() is None
    assert lines[-1] == f"videogen: worker is back (pid {worker.process.pid})"

    pids = (tmp_path / "stack.pids").read_text().splitlines()
    assert pids == [f"worker {first_pid}", f"worker {worker.process.pid}"]


def test_crash_loop_backs_off_and_resets_after_a_long_run(stack: Stack) -> None:
    clock, lines = Clock(), list[str]()
    api = child("api", CRASHER)
    stack.children.append(api)
    stack.spawn(api)
    api.started_at = clock.now
    supervisor = supervise(stack, clock, lines)

    def crash_after(seconds_up: float) -> str:
        clock.now += seconds_up
        wait_dead(api)
        assert supervisor.poll() is None
        due = supervisor.states["api"].due
        assert due is not None
        clock.now = due
        assert supervisor.poll() is None  # spawned again
        return lines[-1].split("restarting in ")[1]

    delays = [crash_after(0), crash_after(0), crash_after(0), crash_after(0)]
    assert delays == ["1s (restart 1)", "2s (restart 2)", "4s (restart 3)", "4s (restart 4)"]
    # up for a minute before the next crash: the delay starts over
    assert [crash_after(61), crash_after(0)] == ["1s (restart 5)", "2s (restart 6)"]


def test_broker_death_stops_the_stack(stack: Stack) -> None:
    clock, lines = Clock(), list[str]()
    broker = child("broker", CRASHER, restartable=False)
    stack.children.append(broker)
    stack.spawn(broker)
    wait_dead(broker)
    reason = supervise(stack, clock, lines).poll()
    assert reason is not None and reason.startswith("broker exited with 3; stopping")
    assert not lines


def test_restart_that_never_gets_ready_is_killed_and_retried(stack: Stack) -> None:
    clock, lines = Clock(), list[str]()
    worker = child("worker", SLEEPER, ready=False)
    stack.children.append(worker)
    stack.spawn(worker)
    supervisor = supervise(stack, clock, lines, ready_timeout=5)
    assert worker.process is not None
    worker.process.kill()
    wait_dead(worker)
    supervisor.poll()
    clock.now += 1
    supervisor.poll()  # restarted, not ready
    hung = worker.process
    started = time.monotonic()
    assert supervisor.poll() is None
    assert time.monotonic() - started < 1.0, "poll must not wait for readiness"
    clock.now += 6
    supervisor.poll()
    assert lines[-1] == "videogen: worker not ready after 5s; killing it"
    assert hung.wait(10) == -9
    supervisor.poll()
    assert lines[-1] == "videogen: worker exited with -9; restarting in 2s (restart 2)"


def test_stop_ends_restarted_children(stack: Stack) -> None:
    clock, lines = Clock(), list[str]()
    worker = child("worker", SLEEPER)
    stack.start(worker)
    supervisor = supervise(stack, clock, lines)
    assert worker.process is not None
    worker.process.kill()
    wait_dead(worker)
    supervisor.poll()
    clock.now += 1
    supervisor.poll()
    restarted = worker.process.pid
    assert alive(restarted)
    stack.stop()
    assert not alive(restarted)
