"""A second API or worker process on the session stack's broker and S3, with its own settings (API
keys, limits, quick threshold, stalled-job limit), started and stopped with the `deploy.embedded`
helpers."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from deploy.embedded import EMBEDDED_AWS_KEY, EMBEDDED_AWS_SECRET, Stack, start_api, start_worker
from schemas.settings import Settings
from tests.e2e.conftest import RunningStack, free_port


def _env(stack: RunningStack, data_dir: Path, overrides: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        **stack.env,
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
        "S3_ENDPOINT_URL": stack.s3_endpoint,
        "AWS_ACCESS_KEY_ID": EMBEDDED_AWS_KEY,
        "AWS_SECRET_ACCESS_KEY": EMBEDDED_AWS_SECRET,
        "S3_PUBLIC_URL_PREFIX": f"{stack.s3_endpoint}/{stack.bucket}",
        "DATA_DIR": str(data_dir),
        **overrides,
    }


@contextlib.contextmanager
def extra_api(stack: RunningStack, data_dir: Path, **overrides: str) -> Iterator[str]:
    """Yield the base URL of an API configured by `overrides` (environment names)."""
    port = free_port()
    env = _env(stack, data_dir, {"PORT": str(port), **overrides})
    api = Stack(Settings(data_dir=data_dir, host="127.0.0.1", port=port), env=env)
    try:
        start_api(api, api.settings)
        yield f"http://127.0.0.1:{port}"
    finally:
        api.stop()


@contextlib.contextmanager
def extra_worker(stack: RunningStack, data_dir: Path, **overrides: str) -> Iterator[str]:
    """Yield the /health URL of a worker configured by `overrides` that has joined the group."""
    port = free_port()
    worker = Stack(Settings(data_dir=data_dir, worker_web_port=port), env=_env(stack, data_dir, overrides))
    try:
        start_worker(worker, worker.settings, "late-worker", port)
        yield f"http://127.0.0.1:{port}/health"
    finally:
        worker.stop()
