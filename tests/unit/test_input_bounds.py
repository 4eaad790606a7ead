"""Hostile bodies are clean 4xx answers, never a 500 and never a phantom job: JSON nested too deep
or holding integers past 64 bits (checked on the raw bytes, before any recursive code), jobs and
templates too big for one Kafka message (checked before anything is published), a template whose
filling would multiply its text, a prompt of punctuation only, a pydantic error raised after
Litestar's validation, and request ids that are not visible ASCII."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from litestar import Litestar, post
from litestar.testing import TestClient
from pydantic import BaseModel, ValidationError

from api.app import create_app
from api.bounds import MAX_JSON_DEPTH, check_json_body
from api.errors import ApiError, on_model_error
from api.jobservice import JobService
from api.ratelimit import RateLimiter
from api.requestid import request_id_from
from schemas.batches import BatchItemEnded
from schemas.events import JobEvent, JobRequested
from schemas.settings import Settings
from schemas.templates import TemplateRecord
from tests.unit.test_api_websocket import LocalStore, LocalTemplates, NoEstimator


class RecordingPublisher:
    """Kafka replaced: jobs, batch items and templates are recorded (templates folded back)."""

    def __init__(self, templates: LocalTemplates) -> None:
        self.templates = templates
        self.sent: list[tuple[JobRequested, JobEvent]] = []
        self.items: list[BatchItemEnded] = []
        self.saved: list[TemplateRecord | None] = []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, request: JobRequested, accepted: JobEvent) -> None:
        self.sent.append((request, accepted))

    async def batch_item(self, item: BatchItemEnded) -> None:
        self.items.append(item)

    async def template(self, template_id: str, record: TemplateRecord | None) -> None:
        self.saved.append(record)
        self.templates.fold(template_id, record)


class SlowEstimate(NoEstimator):
    async def estimate(self, spec: object, *_: object) -> float:
        return 600.0  # never waited on


Stack = tuple[TestClient[Any], RecordingPublisher, LocalStore]
KEYS = {"api_keys": "alpha:ka", "internal_api_keys": "ai:ik"}
PUBLIC, INTERNAL = {"X-API-Key": "ka"}, {"X-API-Key": "ik"}


def _stack(**settings: Any) -> Iterator[Stack]:
    config = Settings(kafka_bootstrap_servers="unused:9092", **{**KEYS, **settings})
    templates, jobs = LocalTemplates(config), LocalStore(config)
    publisher = RecordingPublisher(templates)
    service = JobService(config, jobs, publisher, SlowEstimate(), RateLimiter(0), templates)  # type: ignore[arg-type]
    with TestClient(create_app(config, service)) as client:
        yield client, publisher, jobs


@pytest.fixture()
def stack() -> Iterator[Stack]:
    yield from _stack()


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    error: dict[str, Any] = body["error"]
    assert error["code"] == code and error["request_id"]
    return error


def _fields(error: dict[str, Any]) -> list[str]:
    return [f["field"] for f in error["details"]["fields"]]


SPEC: dict[str, Any] = {
    "width": 640,
    "height": 360,
    "duration": 2,
    "elements": [{"type": "text", "text": "hi"}],
}
CLIPS: dict[str, Any] = {
    "processing_id": "p1",
    "clips": ["s3://videogen/a.mp4"],
    "operations": ["normalize"],
    "callback_url": "https://hooks.test/done",
}


# --- depth and integers, on the raw bytes ----------------------------------------------------------


def _nested(opening: str, closing: str, depth: int, inner: str = "1") -> str:
    return opening * depth + inner + closing * depth


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"a":' + _nested("[", "]", 10_000) + "}", "a" + ".0" * (MAX_JSON_DEPTH - 1)),
        (_nested('{"k":', "}", 10_000), ".".join(["k"] * MAX_JSON_DEPTH)),
        ('[1, {"x": [2, ' + _nested("[", "]", 70) + "]}]", "1.x.1" + ".0" * (MAX_JSON_DEPTH - 3)),
    ],
)
def test_a_body_nested_too_deep_is_refused_naming_where(body: str, field: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_json_body(body.encode())
    assert caught.value.code == "INVALID_INPUT"
    assert _fields({"details": caught.value.details}) == [field[:200] + ("…" if len(field) > 200 else "")]
    assert f"deeper than {MAX_JSON_DEPTH} levels" in caught.value.message


def test_depth_counts_brackets_only_outside_strings() -> None:
    check_json_body(_nested("[", "]", MAX_JSON_DEPTH).encode())
    text = orjson.dumps({"text": "[{" * 5000 + '"\\' + "]}" * 10})
    check_json_body(text)
    with pytest.raises(ApiError):
        check_json_body(_nested("[", "]", MAX_JSON_DEPTH + 1).encode())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"x": 9223372036854775808}', "x"),
        (b'{"a": [1, -9223372036854775809]}', "a.1"),
        (b'{"a": {"b": ' + b"9" * 6000 + b"}}", "a.b"),
    ],
)
def test_integers_past_64_bits_are_refused_naming_where(body: bytes, field: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_json_body(body)
    assert caught.value.code == "INVALID_INPUT" and _fields({"details": caught.value.details}) == [field]


def test_64_bit_integers_long_floats_and_digits_in_text_pass() -> None:
    check_json_body(b"[9223372036854775807, -9223372036854775808, 1.123456789012345678901, 1e22]")
    check_json_body(b'[12345678901234567890123.5, 1.5e12345678901234567890, "12345678901234567890123"]')


DEEP = _nested("[", "]", 900)


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "field"),
    [
        ("POST", "/api/v1/videocreate", PUBLIC, {**SPEC, "x": "DEEP"}, "x"),
        ("POST", "/api/v1/templates", PUBLIC, {"name": "t", "spec": {**SPEC, "x": "DEEP"}}, "spec.x"),
        ("PUT", "/api/v1/templates/tpl_x", PUBLIC, {"name": "t", "spec": {**SPEC, "x": "DEEP"}}, "spec.x"),
        ("POST", "/api/video/generate", PUBLIC, {"template": {**SPEC, "x": "DEEP"}}, "template.x"),
        ("POST", "/api/v1/compositions", PUBLIC, {"clips": [{"url": "DEEP"}]}, "clips.0.url"),
        ("POST", "/internal/v1/process-clips", INTERNAL, {**CLIPS, "clips": ["DEEP"]}, "clips.0"),
    ],
)
def test_every_body_route_refuses_deep_json_with_a_400(
    stack: Stack, method: str, path: str, headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    client, publisher, _ = stack
    content = orjson.dumps(body).replace(b'"DEEP"', DEEP.encode())
    response = client.request(
        method, path, content=content, headers={**headers, "Content-Type": "application/json"}
    )
    error = _error(response, 400, "INVALID_INPUT")
    assert _fields(error)[0].startswith(field + ".0.0")
    assert publisher.sent == [] and publisher.saved == []


def test_the_prompt_route_answers_deep_json_in_its_own_shape(stack: Stack) -> None:
    client, publisher, _ = stack
    content = b'{"prompt": ' + DEEP.encode() + b"}"
    response = client.post("/api/videos/generate", content=content, headers=PUBLIC)
    assert response.status_code == 400 and response.json()["success"] is False
    assert response.json()["error"]["code"] == "INVALID_INPUT" and publisher.sent == []


def test_a_modification_path_of_5000_fields_is_a_400(stack: Stack) -> None:
    client, publisher, _ = stack
    template = {"name": "t", "spec": {**SPEC, "elements": [{"id": "title", "type": "text", "text": "hi"}]}}
    template_id = client.post("/api/v1/templates", json=template, headers=PUBLIC).json()["template_id"]
    key = "title." + ".".join(["a"] * 5000)
    body = {"template_id": template_id, "modifications": {key: 1}}
    error = _error(client.post("/api/v1/videocreate", json=body, headers=PUBLIC), 400, "INVALID_INPUT")
    assert _fields(error)[0].startswith("modifications.title.a.a") and publisher.sent == []


# --- the Kafka message size ---------------------------------------------------------------------


def test_a_job_too_big_for_one_kafka_message_is_413_before_anything_is_published(stack: Stack) -> None:
    """The reported case: a valid body just under the 1 MiB request limit whose job message
    would pass the broker's 1 MB."""
    client, publisher, jobs = stack
    spec = {**SPEC, "width": 1280, "height": 720, "elements": [{"type": "text", "text": "😀" * 5000}] * 52}
    content = orjson.dumps(spec)
    assert len(content) < Settings().max_request_body_bytes
    error = _error(
        client.post("/api/v1/videocreate", content=content, headers=PUBLIC), 413, "PAYLOAD_TOO_LARGE"
    )
    assert "KAFKA_MAX_MESSAGE_BYTES" in error["message"] and "message.max.bytes" in error["message"]
    assert error["details"]["limit_bytes"] == 1_000_000 and error["details"]["message_bytes"] > 1_000_000
    assert publisher.sent == [] and jobs.backlog == 0 and jobs.in_flight("alpha") == 0
    assert client.post("/api/v1/videocreate", json=SPEC, headers=PUBLIC).status_code == 202


LONG_TEXT = "x" * 2400  # under the limit below, its job message over it
FILLED = {**SPEC, "elements": [{"type": "text", "text": "{{t}}"}]}


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        ("/api/v1/videocreate", PUBLIC, {**SPEC, "elements": [{"type": "text", "text": LONG_TEXT}]}),
        ("/api/video/generate", PUBLIC, {"template": FILLED, "inputs": {"t": LONG_TEXT}}),
        ("/api/v1/compositions", PUBLIC, {"clips": [{"url": "https://cdn.test/a.mp4"}],
                                          "overlays": [{"content": LONG_TEXT}]}),
        ("/api/videos/generate", PUBLIC, {"prompt": "a quiet lake", "style": "calm", "duration": 60,
                                          "aspectRatio": "16:9"}),
        ("/internal/v1/process-clips", INTERNAL, {**CLIPS, "clips": ["s3://videogen/a.mp4",
                                                                     "s3://videogen/" + LONG_TEXT + ".mp4"]}),
    ],
)  # fmt: skip
def test_every_route_that_creates_jobs_checks_the_message_size(
    path: str, headers: dict[str, str], body: dict[str, Any]
) -> None:
    for client, publisher, jobs in _stack(kafka_max_message_bytes=2500):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
        assert publisher.sent == [] and publisher.items == [] and jobs.backlog == 0


def test_a_template_too_big_for_one_kafka_message_is_413_and_not_saved() -> None:
    template = {"name": "t", "spec": {**SPEC, "elements": [{"type": "text", "text": LONG_TEXT}]}}
    for client, publisher, _ in _stack(kafka_max_message_bytes=2500):
        error = _error(
            client.post("/api/v1/templates", json=template, headers=PUBLIC), 413, "PAYLOAD_TOO_LARGE"
        )
        assert "the template" in error["message"] and publisher.saved == []
        assert client.get("/api/v1/templates", headers=PUBLIC).json()["total"] == 0


def test_a_template_whose_filling_multiplies_its_text_is_413() -> None:
    """One value copied into every use of its placeholder: a small body, a huge spec."""
    uses = " ".join(["{{v}}"] * 800)
    template = {"name": "t", "spec": {**SPEC, "elements": [{"type": "text", "text": uses}]}}
    for client, publisher, _ in _stack():
        saved = client.post("/api/v1/templates", json=template, headers=PUBLIC)
        assert saved.status_code == 201, saved.text
        body = {"template_id": saved.json()["template_id"], "merge": {"v": "x" * 100_000}}
        error = _error(
            client.post("/api/v1/videocreate", json=body, headers=PUBLIC), 413, "PAYLOAD_TOO_LARGE"
        )
        assert _fields(error) == ["merge"] and "1000000 characters" in error["message"]
        inline = {"template": template["spec"], "inputs": {"v": "x" * 100_000}}
        error = _error(
            client.post("/api/video/generate", json=inline, headers=PUBLIC), 413, "PAYLOAD_TOO_LARGE"
        )
        assert _fields(error) == ["inputs"] and publisher.sent == []


# --- what else a request could raise ------------------------------------------------------------


def test_a_template_value_past_64_bits_is_a_400_not_a_500(stack: Stack) -> None:
    client, publisher, _ = stack
    spec = {**SPEC, "elements": [{"type": "text", "text": "n = {{n}}"}]}
    content = orjson.dumps({"name": "t", "spec": spec, "defaults": {"n": "N"}}).replace(b'"N"', b"9" * 30)
    error = _error(client.post("/api/v1/templates", content=content, headers=PUBLIC), 400, "INVALID_INPUT")
    assert _fields(error) == ["defaults.n"] and publisher.saved == []


@pytest.mark.parametrize("prompt", ["-", " ( - , ", "\u2014"])
def test_a_prompt_of_clause_marks_only_is_a_400_in_the_seeds_shape(stack: Stack, prompt: str) -> None:
    client, publisher, _ = stack
    body = {"prompt": prompt, "style": "fun", "duration": 5, "aspectRatio": "16:9"}
    response = client.post("/api/videos/generate", json=body, headers=PUBLIC)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["success"] is False and answer["error"]["code"] == "INVALID_INPUT"
    assert _fields(answer["error"]) == ["prompt"] and publisher.sent == []


def test_a_prompt_with_lone_dashes_renders(stack: Stack) -> None:
    client, publisher, _ = stack
    body = {"prompt": "Cats - dogs - birds", "style": "fun", "duration": 12, "aspectRatio": "16:9"}
    response = client.post("/api/videos/generate", json=body, headers=PUBLIC)
    assert response.status_code == 201, response.text
    texts = [e.text for e in publisher.sent[0][0].spec.elements if e.type == "text"]
    assert texts and all(text.strip("- ") for text in texts)


class _Strict(BaseModel):
    size: int


@post("/boom")
async def _boom() -> None:
    _Strict.model_validate({"size": "big"})


def test_a_pydantic_error_after_litestars_validation_is_invalid_input_with_its_path() -> None:
    with TestClient(Litestar([_boom], exception_handlers={ValidationError: on_model_error})) as client:
        response = client.post("/boom")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT" and _fields(error) == ["size"]
    assert error["message"].startswith("invalid request: size: ")


def test_an_internal_key_and_another_key_that_disagree_are_401(stack: Stack) -> None:
    client, publisher, _ = stack
    headers = {"Authorization": "Bearer ik", "X-API-Key": "ka"}
    error = _error(
        client.post("/internal/v1/process-clips", json=CLIPS, headers=headers), 401, "UNAUTHORIZED"
    )
    assert error["details"] == {"reason": "conflicting keys"} and publisher.sent == []


@pytest.mark.parametrize(
    ("header", "kept"),
    [(b"req-1", "req-1"), ("a\u00e9 b\u00ff".encode("latin-1"), "ab"), (b"x" * 500, "x" * 128)],
)
def test_request_ids_keep_only_visible_ascii(header: bytes, kept: str) -> None:
    assert request_id_from(header) == kept
    assert len(request_id_from(b"\xe9\xff ")) == 32, "nothing left: a new id"
