"""POST /internal/v1/process-clips without a broker: the translation of a clip into a spec, the
checks with their field paths, the internal key guard, and the batch submission (Kafka replaced
by a recording publisher)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.auth import KeyRing
from api.jobservice import JobService
from api.processing import check_request, clip_spec
from api.ratelimit import RateLimiter
from schemas.batches import BatchItemEnded
from schemas.errors import ErrorCode, JobError
from schemas.events import JobEvent, JobRequested
from schemas.processing import MAX_CLIPS_PER_REQUEST, ProcessClipsRequest
from schemas.settings import Settings
from tests.unit.test_api_websocket import LocalStore, LocalTemplates, NoEstimator

BODY: dict[str, Any] = {
    "processing_id": "proc_xyz789",
    "clips": ["s3://bucket/raw1.mp4", "https://cdn.example.com/raw2.mov"],
    "operations": ["normalize", "color_correct", "thumbnail"],
    "color_preset": "warm",
    "callback_url": "http://ai-backend/internal/v1/processing-complete",
}
INTERNAL = {"X-API-Key": "ik"}


def _request(**changes: Any) -> ProcessClipsRequest:
    return ProcessClipsRequest.model_validate({**BODY, **changes})


# --- translation ---------------------------------------------------------------------------------


def test_a_clip_becomes_a_normalized_contained_spec() -> None:
    spec = clip_spec(_request(), 1)
    assert (spec.width, spec.height, spec.fps, spec.crf, spec.output_format) == (1280, 720, 30, 21, "mp4")
    assert spec.thumbnail and spec.color_preset == "warm" and spec.background_color == "#000000"
    [clip] = spec.elements
    assert (clip.id, clip.type, clip.source, clip.fit_mode) == (
        "clips.1", "video", "https://cdn.example.com/raw2.mov", "contain",
    )  # fmt: skip
    assert clip.duration is None and clip.time == 0, "the whole clip, as long as it is"


def test_operations_choose_the_grade_and_the_thumbnail() -> None:
    plain = clip_spec(_request(operations=["normalize"], color_preset=None), 0)
    assert plain.color_preset is None and not plain.thumbnail
    graded = clip_spec(_request(operations=["normalize", "color_correct"], color_preset=None), 0)
    assert graded.color_preset == "vivid", "the documented default"


@pytest.mark.parametrize(
    ("changes", "code", "fields"),
    [
        ({"operations": ["color_correct", "thumbnail"]}, ErrorCode.INVALID_INPUT, ["operations"]),
        ({"operations": ["normalize"]}, ErrorCode.INVALID_INPUT, ["color_preset"]),
        (
            {"clips": ["s3://b/a.mp4", "ftp://host/b.mp4", "https://x/c.mp3"]},
            ErrorCode.INVALID_CLIP_FORMAT,
            ["clips.1", "clips.2"],
        ),
    ],
)
def test_requests_that_cannot_be_done_name_each_field(
    changes: dict[str, Any], code: ErrorCode, fields: list[str]
) -> None:
    with pytest.raises(JobError) as caught:
        check_request(_request(**changes))
    assert caught.value.code == code
    assert [f["field"] for f in caught.value.details["fields"]] == fields


# --- the route -----------------------------------------------------------------------------------


class RecordingPublisher:
    def __init__(self, fail_after: int | None = None) -> None:
        self.sent: list[JobRequested] = []
        self.items: list[BatchItemEnded] = []
        self.fail_after = fail_after

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, request: JobRequested, accepted: JobEvent) -> None:
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise ConnectionError("broker gone")
        self.sent.append(request)

    async def batch_item(self, item: BatchItemEnded) -> None:
        self.items.append(item)


class Estimate(NoEstimator):
    async def estimate(self, spec: object, *_: object) -> float:
        return 2.0


Stack = tuple[TestClient[Any], RecordingPublisher]


def _stack(publisher: RecordingPublisher, **settings: Any) -> Iterator[Stack]:
    config = Settings(kafka_bootstrap_servers="unused:9092", **settings)
    service = JobService(
        config, LocalStore(config), publisher, Estimate(), RateLimiter(0), LocalTemplates(config)
    )  # type: ignore[arg-type]
    with TestClient(create_app(config, service)) as client:
        yield client, publisher


@pytest.fixture()
def stack() -> Iterator[Stack]:
    yield from _stack(RecordingPublisher(), api_keys="pub:pk", internal_api_keys="ai-backend:ik")


def test_each_clip_is_a_job_of_one_batch_without_its_own_callback(stack: Stack) -> None:
    client, publisher = stack
    response = client.post("/internal/v1/process-clips", json=BODY, headers=INTERNAL)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["processing_id"] == "proc_xyz789" and answer["status"] == "processing"
    first, second = publisher.sent
    assert answer["batch_id"].startswith("pb_") and first.batch is not None and second.batch is not None
    assert [c["job_id"] for c in answer["clips"]] == [first.job_id, second.job_id]
    assert [c["status_check_endpoint"] for c in answer["clips"]] == [
        f"/internal/v1/jobs/{first.job_id}",
        f"/internal/v1/jobs/{second.job_id}",
    ]
    assert first.job_id is not None and first.job_id.startswith("clip_")
    assert (first.callback_url, second.callback_url) == (None, None), "only the batch calls back"
    assert first.tenant == "ai-backend"
    assert (first.batch.id, first.batch.size, first.batch.index, first.batch.item) == (
        answer["batch_id"], 2, 0, "s3://bucket/raw1.mp4",
    )  # fmt: skip
    assert second.batch.index == 1 and second.batch.callback_url == BODY["callback_url"]
    assert first.spec.color_preset == "warm" and first.spec.thumbnail
    status = client.get(f"/internal/v1/jobs/{first.job_id}", headers=INTERNAL)
    assert status.status_code == 200 and status.json()["status"] == "queued"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "UNAUTHORIZED"),
        ({"X-API-Key": "wrong"}, 401, "UNAUTHORIZED"),
        ({"X-API-Key": "pk"}, 401, "UNAUTHORIZED"),  # a public key does not open internal routes
    ],
)
def test_internal_routes_need_an_internal_key(
    stack: Stack, headers: dict[str, str], status: int, code: str
) -> None:
    client, publisher = stack
    response = client.post("/internal/v1/process-clips", json=BODY, headers=headers)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert client.get("/internal/v1/jobs/clip_1", headers=headers).status_code == status
    assert publisher.sent == []


def test_an_internal_key_does_not_open_the_public_api(stack: Stack) -> None:
    client, _ = stack
    assert client.get("/api/v1/videoresult/vg_1", headers=INTERNAL).status_code == 401


def test_without_internal_keys_internal_routes_are_closed() -> None:
    for client, publisher in _stack(RecordingPublisher()):  # API_KEYS unset too: /api/v1 is open
        response = client.post("/internal/v1/process-clips", json=BODY, headers=INTERNAL)
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "FORBIDDEN" and "INTERNAL_API_KEYS" in error["message"]
        assert error["request_id"] and publisher.sent == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"operations": ["normalize", "sharpen"]}, "operations.1"),
        ({"clips": ["s3://b/c.mp4"] * (MAX_CLIPS_PER_REQUEST + 1)}, "clips"),
        ({"clips": []}, "clips"),
        ({"color_preset": "sepia"}, "color_preset"),
        ({"callback_url": None}, "callback_url"),
    ],
)
def test_invalid_bodies_answer_400_naming_the_field(
    stack: Stack, changes: dict[str, Any], field: str
) -> None:
    client, publisher = stack
    response = client.post("/internal/v1/process-clips", json={**BODY, **changes}, headers=INTERNAL)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT" and field in [f["field"] for f in error["details"]["fields"]]
    assert publisher.sent == []


def test_a_bad_clip_url_is_invalid_clip_format(stack: Stack) -> None:
    client, publisher = stack
    body = {**BODY, "clips": ["s3://b/a.mp4", "https://x/logo.png"]}
    response = client.post("/internal/v1/process-clips", json=body, headers=INTERNAL)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INVALID_CLIP_FORMAT" and error["details"]["fields"][0]["field"] == "clips.1"
    assert publisher.sent == []


def test_a_queue_without_room_for_every_clip_refuses_them_all() -> None:
    for client, publisher in _stack(RecordingPublisher(), internal_api_keys="ai:ik", max_queued_jobs=1):
        response = client.post("/internal/v1/process-clips", json=BODY, headers=INTERNAL)
        assert response.status_code == 503 and response.json()["error"]["code"] == "QUEUE_FULL"
        assert publisher.sent == [] and publisher.items == []


def test_clips_that_cannot_be_queued_after_others_still_end_the_batch() -> None:
    body = {**BODY, "clips": ["s3://b/1.mp4", "s3://b/2.mp4", "s3://b/3.mp4"]}
    for client, publisher in _stack(RecordingPublisher(fail_after=1), internal_api_keys="ai:ik"):
        response = client.post("/internal/v1/process-clips", json=body, headers=INTERNAL)
        assert response.status_code == 202, response.text
        clips = response.json()["clips"]
        assert [c["status"] for c in clips] == ["queued", "failed", "failed"]
        assert clips[1]["job_id"] is None and clips[1]["error"]["code"] == "INTERNAL_ERROR"
        assert [(i.batch.index, i.status, i.job_id) for i in publisher.items] == [
            (1, "failed", None),
            (2, "failed", None),
        ]


def test_when_the_first_clip_cannot_be_queued_the_error_is_the_answer() -> None:
    for client, publisher in _stack(RecordingPublisher(fail_after=0), internal_api_keys="ai:ik"):
        response = client.post("/internal/v1/process-clips", json=BODY, headers=INTERNAL)
        assert response.status_code == 500 and publisher.items == []


def test_openapi_documents_the_internal_route() -> None:
    for client, _ in _stack(RecordingPublisher(), internal_api_keys="ai:ik"):
        document = client.get("/docs/openapi.json").json()
        operation = document["paths"]["/internal/v1/process-clips"]["post"]
        assert operation["tags"] == ["internal"] and {"401", "403", "202"} <= set(operation["responses"])


def test_internal_keys_take_the_api_keys_formats() -> None:
    hashed = hashlib.sha256(b"ik").hexdigest()
    for client, _ in _stack(RecordingPublisher(), internal_api_keys=f"ai:sha256:{hashed}"):
        response = client.post(
            "/internal/v1/process-clips", json=BODY, headers={"Authorization": "Bearer ik"}
        )
        assert response.status_code == 202
    with pytest.raises(ValueError, match="INTERNAL_API_KEYS"):
        KeyRing.internal(Settings(internal_api_keys="ai:sha256:nothex"))
