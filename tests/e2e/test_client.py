"""The Python client (clients/python, `videogen_client`) against the real stack: every method, sync
and async, on a keyed API instance, typed answers and typed errors; and a live 429 retried after its
Retry-After on an instance with a small rate limit."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from videogen_client import (
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    JobFailedError,
    JobState,
    NotFoundError,
    Via,
)
from videogen_client.models import (
    CompositionAccepted,
    CompositionRequest,
    JobAccepted,
    JobCompleted,
    JobProcessing,
    TemplateBody,
    VideoCreateRequest,
    WsMessage,
)

from tests.e2e.api_instance import extra_api
from tests.e2e.conftest import MediaServer, RunningStack
from tests.media import probe_output

pytestmark = pytest.mark.e2e

KEY = "client-e2e-key-1"
W, H = 160, 120
STREAMS: tuple[Via, ...] = ("poll", "websocket")


@pytest.fixture(scope="module")
def keyed_api(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An API with a key whose POSTs answer 202 at once, so each job can be followed."""
    with extra_api(
        stack,
        tmp_path_factory.mktemp("client-api"),
        API_KEYS=f"client:{KEY}",
        QUICK_RESPONSE_THRESHOLD_SECONDS="0",
    ) as url:
        yield url


def _spec(seconds: float = 1.0, color: str = "#0000ff") -> VideoCreateRequest:
    return VideoCreateRequest.model_validate(
        {"width": W, "height": H, "duration": seconds, "elements": [{"type": "color", "color": color}]}
    )


def _template() -> TemplateBody:
    spec = {"width": W, "height": H, "duration": 1, "elements": [{"type": "color", "color": "{{color}}"}]}
    return TemplateBody(name="plain", spec=spec, defaults={"color": "#ff0000"})


def _composition(media: MediaServer) -> CompositionRequest:
    clip = {"url": media.url("blue.mp4"), "trim_start": 0, "trim_end": 1}
    return CompositionRequest.model_validate({"clips": [clip], "output": {"resolution": "sd"}})


def _check_video(path: Path, size: tuple[int, int], seconds: float) -> None:
    probed = probe_output(path)
    assert (probed.width, probed.height) == size
    assert abs(probed.duration - seconds) < 0.15


def test_every_method_sync(keyed_api: str, media_server: MediaServer, tmp_path: Path) -> None:
    progress: list[JobState] = []
    with Client(keyed_api, KEY) as client:
        key = str(uuid.uuid4())
        accepted = client.submit(_spec(), idempotency_key=key)
        assert isinstance(accepted, JobAccepted)
        states = list(client.follow(accepted, via="sse", on_progress=progress.append))
        assert progress == states and isinstance(states[-1], JobCompleted)
        assert any(isinstance(s, JobProcessing) for s in states), "progress before the end"
        assert client.submit(_spec(), idempotency_key=key).job_id == accepted.job_id, "replayed"
        result = client.wait(accepted.job_id, timeout=60)
        assert result == client.status(accepted) == states[-1]
        assert result.job_id in [job.job_id for job in client.jobs(status="completed").jobs]
        _check_video(client.download(result, tmp_path / "sse.mp4"), (W, H), 1.0)
        _check_video(client.download(result.result_url, tmp_path / "url.mp4"), (W, H), 1.0)

        for via in STREAMS:
            job = client.submit(_spec(color="#00ff00"))
            followed = list(client.follow(job, via=via, interval=0.3))
            assert isinstance(followed[-1], JobCompleted), (via, followed)

        long = client.submit(_spec(seconds=60))
        assert client.cancel(long).status == "cancelled"
        with pytest.raises(JobFailedError) as failed:
            client.wait(long, timeout=30)
        assert failed.value.code == "CANCELLED" and failed.value.details["job_id"] == long.job_id
        with pytest.raises(ConflictError) as conflict:
            client.cancel(long)
        assert conflict.value.code == "CONFLICT" and conflict.value.status == 409

        saved = client.create_template(_template())
        assert saved.placeholders == ["color"]
        assert saved.template_id in [t.template_id for t in client.templates(limit=100).templates]
        assert client.template(saved.template_id).name == "plain"
        renamed = client.replace_template(
            saved.template_id, _template().model_copy(update={"name": "renamed"})
        )
        assert renamed.name == "renamed"
        rendered = client.wait(client.render_template(saved.template_id, {"color": "#ffff00"}), timeout=60)
        _check_video(client.download(rendered, tmp_path / "template.mp4"), (W, H), 1.0)
        client.delete_template(saved.template_id)
        with pytest.raises(NotFoundError):
            client.template(saved.template_id)

        composition = client.create_composition(_composition(media_server), idempotency_key=str(uuid.uuid4()))
        assert isinstance(composition, CompositionAccepted)
        messages: list[WsMessage] = []
        for message in client.follow_composition(composition.composition_id, on_progress=messages.append):
            assert message in messages
        assert messages[-1].type == "completed", messages
        done = client.wait_composition(composition.composition_id, timeout=60)
        assert done.output_url is not None
        assert client.composition_metadata(composition.composition_id).status == "completed"
        _check_video(client.download(done, tmp_path / "composition.mp4"), (640, 480), 1.0)

        with pytest.raises(BadRequestError) as invalid:
            client.submit({"width": 3, "elements": []})
        assert invalid.value.code == "INVALID_INPUT" and invalid.value.details
    with Client(keyed_api, "not-a-key") as stranger, pytest.raises(AuthenticationError) as refused:
        stranger.status(accepted)
    assert refused.value.code == "UNAUTHORIZED" and refused.value.status == 401


async def test_every_method_async(keyed_api: str, media_server: MediaServer, tmp_path: Path) -> None:
    progress: list[JobState] = []

    async def record(state: JobState) -> None:
        progress.append(state)

    async with AsyncClient(keyed_api, KEY) as client:
        accepted = await client.submit(_spec(), idempotency_key=str(uuid.uuid4()))
        assert isinstance(accepted, JobAccepted)
        states = [s async for s in client.follow(accepted, via="sse", on_progress=record)]
        assert progress == states and isinstance(states[-1], JobCompleted)
        result = await client.wait(accepted, timeout=60)
        assert result == await client.status(accepted.job_id)
        assert result.job_id in [job.job_id for job in (await client.jobs()).jobs]
        _check_video(await client.download(result, tmp_path / "sse.mp4"), (W, H), 1.0)

        for via in STREAMS:
            job = await client.submit(_spec(color="#00ff00"))
            followed = [s async for s in client.follow(job, via=via, interval=0.3)]
            assert isinstance(followed[-1], JobCompleted), (via, followed)

        long = await client.submit(_spec(seconds=60))
        assert (await client.cancel(long)).status == "cancelled"
        with pytest.raises(JobFailedError):
            await client.wait(long, timeout=30)

        saved = await client.create_template(_template())
        assert saved.template_id in [t.template_id for t in (await client.templates()).templates]
        assert (await client.template(saved.template_id)).defaults == {"color": "#ff0000"}
        await client.replace_template(saved.template_id, _template())
        rendered = await client.wait(await client.render_template(saved.template_id), timeout=60)
        _check_video(await client.download(rendered, tmp_path / "template.mp4"), (W, H), 1.0)
        await client.delete_template(saved.template_id)

        composition = await client.create_composition(_composition(media_server))
        messages = [m async for m in client.follow_composition(composition.composition_id)]
        assert messages[-1].type == "completed", messages
        done = await client.wait_composition(composition.composition_id, timeout=60)
        assert (await client.composition_metadata(done.composition_id)).output is not None
        _check_video(await client.download(done, tmp_path / "composition.mp4"), (640, 480), 1.0)

        with pytest.raises(NotFoundError) as missing:
            await client.status("vg_ffffffffffff")
        assert missing.value.code == "NOT_FOUND"


def test_the_cli_submits_through_the_client(keyed_api: str, tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(_spec().model_dump_json(exclude_unset=True))
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "submit", str(spec), "--url", keyed_api],
        env={**os.environ, "VIDEOGEN_API_KEY": KEY},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(".mp4") and "accepted; following its events" in done.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "api.cli", "submit", str(spec), "--url", keyed_api, "--api-key", "wrong"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and '"UNAUTHORIZED"' in refused.stderr


def _drain(api: str) -> httpx.Response:
    """Spend the key's burst until the API refuses with 429; that answer."""
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {KEY}"}, timeout=10) as raw:
        for _ in range(100):
            response = raw.get("/api/v1/videos")
            if response.status_code == 429:
                return response
    raise AssertionError("the rate limit never answered 429")


def test_a_live_429_is_retried_after_retry_after(
    stack: RunningStack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="videogen_client")
    with extra_api(stack, tmp_path, API_KEYS=f"client:{KEY}", RATE_LIMIT_PER_MINUTE="30") as api:
        refused = _drain(api)
        assert refused.json()["error"]["code"] == "RATE_LIMITED"
        assert int(refused.headers["Retry-After"]) >= 1
        with Client(api, KEY) as client:
            assert client.jobs().jobs is not None
        retried: list[str] = [r.getMessage() for r in caplog.records if "after 429" in r.getMessage()]
        assert retried, "the sync client retried the 429"

        _drain(api)
        caplog.clear()

        async def listing() -> Any:
            async with AsyncClient(api, KEY) as client:
                return await client.jobs()

        assert asyncio.run(listing()).jobs is not None
        assert any("after 429" in r.getMessage() for r in caplog.records), "the async client retried too"
