"""The API's own decisions, with Kafka replaced by fakes: backpressure and validation envelopes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

import api.app as api_app
import api.jobservice as jobservice
from schemas.events import Ahead, JobState
from schemas.settings import Settings
from tests.unit.test_api_websocket import LocalTemplates


class FakePublisher:
    def __init__(self, settings: Settings) -> None:
        self.submitted: list[Any] = []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, request: Any, accepted: Any) -> None:
        self.submitted.append(request)


class FakeJobs:
    backlog = 0

    workers = 1

    def ahead(self) -> Ahead:
        return Ahead()

    def __init__(self, settings: Settings) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def get(self, job_id: str) -> JobState | None:
        return None

    def record(self, accepted: Any) -> None: ...

    def forget(self, job_id: str) -> None: ...


class FakeEstimator:
    async def refresh(self) -> None: ...

    async def close(self) -> None: ...

    async def estimate(self, spec: Any, *_: Any) -> float:
        return 999.0


@pytest.fixture()
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient[Any]]:
    monkeypatch.setattr(jobservice, "JobPublisher", FakePublisher)
    monkeypatch.setattr(jobservice, "JobStore", FakeJobs)
    monkeypatch.setattr(jobservice, "TemplateStore", LocalTemplates)
    monkeypatch.setattr(
        jobservice.LearningEstimator, "from_settings", classmethod(lambda cls, s: FakeEstimator())
    )
    settings = Settings(max_queued_jobs=3, kafka_bootstrap_servers="unused:9092")
    with TestClient(api_app.create_app(settings)) as test_client:
        yield test_client


SPEC = {"width": 640, "height": 360, "elements": [{"type": "color", "color": "#000000", "duration": 1}]}


def test_full_queue_answers_503_with_retry_after(
    client: TestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FakeJobs, "backlog", 3)
    response = client.post("/api/v1/videocreate", json=SPEC)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "QUEUE_FULL"
    assert int(response.headers["retry-after"]) > 0


def test_room_in_the_queue_accepts_async(client: TestClient[Any]) -> None:
    response = client.post("/api/v1/videocreate", json=SPEC)
    assert response.status_code == 202
    assert response.json()["status"] == "processing"


def test_malformed_json_is_an_invalid_input_envelope(client: TestClient[Any]) -> None:
    response = client.post(
        "/api/v1/videocreate", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_INPUT"
