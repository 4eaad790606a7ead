"""WebSocket progress through the real stack: a `/videocreate` job followed by a real client on
two API instances (one keyed, one open), the same terminal message on both, clean closes, and
the browser's `?api_key=` kept out of the logs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.api_instance import extra_api
from tests.e2e.conftest import MediaServer, RunningStack
from tests.e2e.ws_client import follow

pytestmark = pytest.mark.e2e

KEYS = {"alpha": "ws-alpha-key-1", "beta": "ws-beta-key-2"}


@pytest.fixture(scope="module")
def keyed_api(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("ws-api")
    with extra_api(
        stack,
        data_dir,
        API_KEYS=f"alpha:{KEYS['alpha']},beta:{KEYS['beta']}",
        QUICK_RESPONSE_THRESHOLD_SECONDS="0",  # POST answers 202 at once: the sockets see it run
    ) as url:
        yield url, data_dir


def _ws(base: str, path: str) -> str:
    return base.replace("http://", "ws://", 1) + path


def _spec(media: MediaServer) -> dict[str, Any]:
    return {
        "output_format": "mp4",
        "width": 640,
        "height": 360,
        "duration": 8,
        "elements": [
            {"type": "color", "color": "#00ff00"},
            {"type": "image", "source": media.url("red.png"), "track": 2, "x": 10, "y": 10, "width": 100},
        ],
    }


def test_two_instances_stream_the_same_progress_then_close_normally(
    stack: RunningStack, keyed_api: tuple[str, Path], media_server: MediaServer
) -> None:
    api, data_dir = keyed_api
    alpha = {"X-API-Key": KEYS["alpha"]}
    with httpx.Client(base_url=api, headers=alpha, timeout=30) as client:
        response = client.post("/api/v1/videocreate", json=_spec(media_server))
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]

        async def both() -> list[tuple[list[dict[str, Any]], int, str]]:
            return await asyncio.gather(
                follow(_ws(api, f"/ws/jobs/{job_id}?api_key={KEYS['alpha']}")),  # a browser's way
                follow(_ws(stack.api, f"/ws/jobs/{job_id}")),  # the open instance
            )

        results = asyncio.run(both())
        final = client.get(f"/api/v1/videoresult/{job_id}").json()
    for messages, code, reason in results:
        assert code == 1000, (code, reason)
        assert messages, "at least the final state"
        ids = [m["id"] for m in messages]
        assert ids == list(range(1, len(ids) + 1))
        assert messages[-1]["event"] == "completed" and messages[-1]["data"] == final
        assert all(m["event"] in ("queued", "processing") for m in messages[:-1])
        assert all(m["event"] == m["data"]["status"] for m in messages)
        progress = [m["data"]["progress_percent"] for m in messages[:-1]]
        assert progress == sorted(progress)
    # `id` numbers the messages of one socket (as SSE's id does its stream): a socket that joined
    # a state later counts fewer, so only the terminal event and its data are the same everywhere.
    ends = [(messages[-1]["event"], messages[-1]["data"]) for messages, _, _ in results]
    assert ends[0] == ends[1], "the same terminal message on both instances"
    assert len(results[0][0]) >= 2, "progress before the end on the keyed instance"

    late, code, _ = asyncio.run(follow(_ws(api, f"/ws/jobs/{job_id}"), alpha))
    assert code == 1000 and len(late) == 1 and late[0]["data"] == final, "a late subscriber: the end at once"

    refusals = [
        (_ws(api, f"/ws/jobs/{job_id}"), {"X-API-Key": KEYS["beta"]}, 4404),  # another tenant's job
        (_ws(api, "/ws/jobs/vg_000000000000"), alpha, 4404),
        (_ws(api, f"/ws/jobs/{job_id}"), None, 4401),
        (_ws(api, f"/ws/jobs/{job_id}?api_key=wrong"), None, 4401),
    ]
    for url, headers, expected in refusals:
        messages, code, reason = asyncio.run(follow(url, headers))
        assert (messages, code) == ([], expected), (url, reason)
        assert reason
    logs = "".join(p.read_text(errors="replace") for p in (data_dir / "logs").glob("*.log"))
    assert "/ws/jobs/" in logs, "uvicorn logs the socket"
    assert KEYS["alpha"] not in logs, "the query string's key is redacted"
