"""Templates without a broker: the routes over the real template fold (Kafka replaced by a
publisher that folds what it is given), tenancy, rendering through /videocreate, and the fold of
the compacted topic's records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from litestar.testing import TestClient

from api.app import create_app
from api.jobservice import JobService
from api.ratelimit import RateLimiter
from api.templatestore import TemplateStore
from schemas.events import JobEvent, JobRequested, JobState, job_ended
from schemas.settings import Settings
from schemas.templates import TemplateRecord
from streams.codec import encode
from streams.topics import TEMPLATES
from tests.unit.test_api_websocket import LocalStore, LocalTemplates, NoEstimator

TEMPLATE: dict[str, Any] = {
    "name": "greeting",
    "spec": {
        "width": 640,
        "height": 360,
        "duration": 2,
        "elements": [
            {"id": "photo", "type": "image", "source": "{{photo}}"},
            {"id": "title", "type": "text", "text": "Hello {{name}}", "font_size": "{{size}}"},
        ],
    },
    "defaults": {"size": 48},
}


class FoldingPublisher:
    """Jobs are recorded; template records and cancels go straight into the folds, as Kafka would
    bring them."""

    def __init__(self, templates: TemplateStore, jobs: LocalStore) -> None:
        self.templates = templates
        self.jobs = jobs
        self.sent: list[tuple[JobRequested, JobEvent]] = []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, request: JobRequested, accepted: JobEvent) -> None:
        self.sent.append((request, accepted))

    async def cancel(self, state: JobState, request_id: str | None) -> None:
        event, _ = job_ended(state.job_id, "cancelled", state.stage, 0.0, tenant=state.tenant)
        self.jobs.push(event)

    async def template(self, template_id: str, record: TemplateRecord | None) -> None:
        self.templates.fold(template_id, record)


class SlowEstimate(NoEstimator):
    async def estimate(self, spec: object, *_: object) -> float:
        return 600.0  # never waited on: POST answers 202 at once


Stack = tuple[TestClient[Any], FoldingPublisher]


@pytest.fixture()
def stack() -> Iterator[Stack]:
    settings = Settings(api_keys="alpha:ka,beta:kb", kafka_bootstrap_servers="unused:9092")
    templates, jobs = LocalTemplates(settings), LocalStore(settings)
    publisher = FoldingPublisher(templates, jobs)
    service = JobService(settings, jobs, publisher, SlowEstimate(), RateLimiter(0), templates)  # type: ignore[arg-type]
    with TestClient(create_app(settings, service)) as client:
        client.headers["X-API-Key"] = "ka"
        yield client, publisher


def _save(client: TestClient[Any], body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/api/v1/templates", json=body or TEMPLATE)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_save_read_list_replace_delete(stack: Stack) -> None:
    client, _ = stack
    saved = _save(client)
    template_id = saved["template_id"]
    assert template_id.startswith("tpl_") and saved["placeholders"] == ["photo", "name", "size"]
    assert saved["created_at"] == saved["updated_at"] and saved["created_at"].endswith("Z")
    assert client.get(f"/api/v1/templates/{template_id}").json() == saved
    second = _save(client, {**TEMPLATE, "name": "second"})
    listed = client.get("/api/v1/templates", params={"limit": 1}).json()
    assert [t["template_id"] for t in listed["templates"]] == [second["template_id"]]
    assert (listed["total"], listed["next_offset"]) == (2, 1)

    changed = {**TEMPLATE, "name": "greeting v2", "defaults": {"size": 64, "name": "you"}}
    replaced = client.put(f"/api/v1/templates/{template_id}", json=changed)
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["name"], replaced.json()["defaults"]) == (
        "greeting v2",
        {"size": 64, "name": "you"},
    )
    assert replaced.json()["created_at"] == saved["created_at"]

    assert client.delete(f"/api/v1/templates/{template_id}").status_code == 204
    gone = client.get(f"/api/v1/templates/{template_id}")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert client.delete(f"/api/v1/templates/{template_id}").status_code == 404


def test_templates_are_the_tenants_own(stack: Stack) -> None:
    client, _ = stack
    template_id = _save(client)["template_id"]
    other = {"X-API-Key": "kb"}
    assert client.get(f"/api/v1/templates/{template_id}", headers=other).status_code == 404
    assert client.put(f"/api/v1/templates/{template_id}", json=TEMPLATE, headers=other).status_code == 404
    assert client.delete(f"/api/v1/templates/{template_id}", headers=other).status_code == 404
    assert client.get("/api/v1/templates", headers=other).json()["total"] == 0
    body = {"template_id": template_id, "merge": {"photo": "https://cdn.test/p.png", "name": "Ada"}}
    assert client.post("/api/v1/videocreate", json=body, headers=other).status_code == 404
    assert client.get("/api/v1/templates", headers={"X-API-Key": "nope"}).status_code == 401


def test_an_invalid_template_is_refused_naming_each_field(stack: Stack) -> None:
    client, _ = stack
    body = {**TEMPLATE, "defaults": {}}
    response = client.post("/api/v1/templates", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    assert [f["field"] for f in error["details"]["fields"]] == ["spec.elements.1.font_size"]
    response = client.post("/api/v1/templates", json={**TEMPLATE, "defaults": {"size": 48, "colour": "red"}})
    assert response.json()["error"]["details"]["fields"][0]["field"] == "defaults.colour"
    response = client.post("/api/v1/templates", json={"name": "x", "spec": {}, "extra": 1})
    assert response.status_code == 400
    assert client.get("/api/v1/templates").json()["total"] == 0


def test_videocreate_renders_a_template_as_an_ordinary_job(stack: Stack) -> None:
    client, publisher = stack
    template_id = _save(client)["template_id"]
    body = {
        "template_id": template_id,
        "merge": {"photo": "https://cdn.test/ada.png", "name": "{{photo}}"},
        "modifications": {"title.color": "#ffcc00"},
        "callback_url": "https://hooks.test/done",
    }
    response = client.post("/api/v1/videocreate", json=body)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    [(request, accepted)] = publisher.sent
    photo, title = request.spec.elements
    assert (photo.source, title.text, title.font_size, title.color) == (
        "https://cdn.test/ada.png",
        "Hello {{photo}}",
        48,
        "#ffcc00",
    )
    assert request.callback_url == "https://hooks.test/done" and request.tenant == "alpha"
    assert accepted.origin is not None and accepted.origin.template_id == template_id
    assert client.get(f"/api/v1/videoresult/{job_id}").json()["status"] == "queued"


def test_videocreate_template_errors_name_the_value(stack: Stack) -> None:
    client, publisher = stack
    template_id = _save(client)["template_id"]
    missing = client.post("/api/v1/videocreate", json={"template_id": template_id, "merge": {"name": "Ada"}})
    assert missing.status_code == 400
    assert [f["field"] for f in missing.json()["error"]["details"]["fields"]] == ["merge.photo"]
    bad = {"template_id": template_id, "merge": {"photo": "p", "name": "A", "size": "huge; drawtext"}}
    fields = client.post("/api/v1/videocreate", json=bad).json()["error"]["details"]["fields"]
    assert fields[0]["field"] == "elements.1.font_size" and "{{size}}" in fields[0]["message"]
    unknown = client.post("/api/v1/videocreate", json={"template_id": "tpl_000000000000"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "NOT_FOUND")
    typed = client.post("/api/v1/videocreate", json={"template_id": template_id, "merge": {"name": [1]}})
    assert typed.status_code == 400 and typed.json()["error"]["details"]["fields"][0]["field"].startswith(
        "merge.name"
    )
    assert publisher.sent == []


def test_a_hand_written_spec_is_answered_as_before(stack: Stack) -> None:
    client, publisher = stack
    response = client.post(
        "/api/v1/videocreate", json={"width": 641, "height": 360, "elements": [{"type": "x"}]}
    )
    assert response.status_code == 400
    fields = [f["field"] for f in response.json()["error"]["details"]["fields"]]
    assert fields[0] == "width" and all(not f.startswith(("root", "template")) for f in fields)
    spec = {"width": 640, "height": 360, "elements": [{"type": "color", "color": "#000000", "duration": 1}]}
    assert client.post("/api/v1/videocreate", json=spec).status_code == 202
    [(_, accepted)] = publisher.sent
    assert accepted.origin is None


def test_the_document_shows_either_body(stack: Stack) -> None:
    client, _ = stack
    document = client.get("/docs/openapi.json").json()
    body = document["paths"]["/api/v1/videocreate"]["post"]["requestBody"]["content"]["application/json"]
    refs = {option["$ref"].rsplit("/", 1)[-1] for option in body["schema"]["oneOf"]}
    assert refs == {"VideoCreateRequest", "TemplateRender"}
    assert document["components"]["schemas"]["TemplateRender"]["additionalProperties"] is False
    assert {"/api/v1/templates", "/api/v1/templates/{template_id}"} <= set(document["paths"])


def _record(key: str, value: bytes | None) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TEMPLATES, 0, 0, 0, 0, key.encode(), value, None, 0, 0, ())  # type: ignore[arg-type]


def test_the_fold_keeps_the_latest_record_and_a_tombstone_deletes() -> None:
    store = TemplateStore(Settings(kafka_bootstrap_servers="unused:9092"))
    first = TemplateRecord(template_id="tpl_1", name="a", spec={}, created_at=1, updated_at=1)
    store._apply(_record("tpl_1", encode(first)))
    store._apply(_record("tpl_1", encode(first.model_copy(update={"name": "b"}))))
    store._apply(_record("tpl_2", encode(first)))  # a record under another template's key
    store._apply(_record("tpl_3", b"not json"))
    assert {k: r.name for k, r in store._records.items()} == {"tpl_1": "b"}
    store._apply(_record("tpl_1", None))
    assert store._records == {}
