"""Every error answer is the envelope with a request id, the router's own 404/405 included, and a
wrongly typed field is named by its path with a message a user can act on."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.jobservice import JobService
from api.jobstore import JobStore
from api.publisher import JobPublisher
from api.ratelimit import RateLimiter
from api.templatestore import TemplateStore
from schemas.settings import Settings


class FixedEstimate:
    async def estimate(self, spec: object, *_: object) -> float:
        return 60.0


@pytest.fixture()
def client() -> TestClient[Any]:
    settings = Settings(kafka_bootstrap_servers="unused:9092")
    service = JobService(
        settings,
        JobStore(settings),
        JobPublisher(settings),
        FixedEstimate(),  # type: ignore[arg-type]
        RateLimiter(0),
        TemplateStore(settings),
    )
    return TestClient(create_app(settings, service))  # no lifespan: nothing here reaches Kafka


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nope", 404),
        ("GET", "/api/v1/nope", 404),
        ("PUT", "/health", 405),
        ("GET", "/api/v1/videocreate", 405),
    ],
)
def test_router_errors_carry_the_request_id(
    client: TestClient[Any], method: str, path: str, status: int
) -> None:
    given = client.request(method, path, headers={"X-Request-ID": "req-123"})
    assert given.status_code == status
    assert given.json()["error"]["request_id"] == "req-123"
    assert given.headers["x-request-id"] == "req-123"
    made = client.request(method, path)
    request_id = made.json()["error"]["request_id"]
    assert request_id and made.headers["x-request-id"] == request_id


SPEC: dict[str, Any] = {"width": 640, "height": 360, "elements": [{"type": "text", "text": "hi"}]}


@pytest.mark.parametrize(
    ("patch", "field", "hint"),
    [
        ({"width": [1]}, "width", "integer"),
        ({"elements": [{"type": "text", "text": [1]}]}, "elements.0.text", "string"),
        ({"elements": [{"type": "text", "text": "hi", "x": {"a": 1}}]}, "elements.0.x", "a length"),
        (
            {"elements": [{"type": "text", "text": "hi", "x": [1]}]},
            "elements.0.x.0",
            "a keyframe is an object",
        ),
        (
            {"elements": [{"type": "text", "text": "hi", "x": [{"time": 0, "value": "left"}]}]},
            "elements.0.x.0.value",
            "is not a length",
        ),
        (
            {
                "elements": [
                    {"type": "text", "text": "hi", "x": [{"time": 1, "value": 0}, {"time": 1, "value": 5}]}
                ]
            },
            "elements.0.x.1.time",
            "keyframe times must increase",
        ),
        ({"elements": [{"type": "text", "text": "hi", "width": {"a": 1}}]}, "elements.0.width", "a length"),
        ({"elements": [{"type": "text", "text": "hi", "font_size": [1]}]}, "elements.0.font_size", "pixels"),
        ({"elements": [{"type": "text", "text": "hi", "duration": [1]}]}, "elements.0.duration", "seconds"),
        (
            {"elements": [{"type": "text", "text": "hi", "duration": "soon"}]},
            "elements.0.duration",
            "'media'",
        ),
    ],
)
def test_a_wrongly_typed_field_is_named_by_its_path(
    client: TestClient[Any], patch: dict[str, Any], field: str, hint: str
) -> None:
    response = client.post("/api/v1/videocreate", json={**SPEC, **patch})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT" and error["request_id"]
    assert [f["field"] for f in error["details"]["fields"]] == [field]
    message = error["details"]["fields"][0]["message"]
    assert hint in message and "bytes-like" not in message
    assert error["message"].startswith(f"invalid request: {field}: ")
