"""A second API process on the session stack's broker and S3, with its own settings (API keys,
limits, quick threshold), started and stopped with the `deploy.embedded` helpers."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from deploy.embedded import EMBEDDED_AWS_KEY, EMBEDDED_AWS_SECRET, Stack, start_api
from schemas.settings import Settings
from tests.e2e.conftest import RunningStack, free_port


@contextlib.contextmanager
def extra_api(stack: RunningStack, data_dir: Path, **overrides: str) -> Iterator[str]:
    """Yield the base URL of an API configured by `overrides` (environment names)."""
    port = free_port()
    env = {
        **os.environ,
        **stack.env,
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
        "S3_ENDPOINT_URL": stack.s3_endpoint,
        "AWS_ACCESS_KEY_ID": EMBEDDED_AWS_KEY,
        "AWS_SECRET_ACCESS_KEY": EMBEDDED_AWS_SECRET,
        "S3_PUBLIC_URL_PREFIX": f"{stack.s3_endpoint}/{stack.bucket}",
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        **overrides,
    }
    api = Stack(Settings(data_dir=data_dir, host="127.0.0.1", port=port), env=env)
    try:
        start_api(api, api.settings)
        yield f"http://127.0.0.1:{port}"
    finally:
        api.stop()
