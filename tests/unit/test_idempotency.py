"""`Idempotency-Key` on every POST that creates a job: the same key and body answer with the same
job (publishing nothing), another body is a 409, concurrent requests on two API instances publish
once, a failed publication releases the key, a record older than a day is replaced, and a bad key
is a 400 naming the header. Kafka is a recorder; S3 is a fake with S3's conditional writes (atomic,
so races are decided as S3 decides them), and moto checks the same calls against botocore."""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import orjson
import pytest
from botocore.exceptions import ClientError
from litestar.testing import TestClient
from moto import mock_aws

from api.app import create_app
from api.errors import ApiError
from api.idempotency import TTL_SECONDS, ClaimStore, Idempotency, body_hash
from api.jobservice import JobService
from api.ratelimit import RateLimiter
from generator import StoryboardGenerator
from schemas.errors import ErrorCode
from schemas.events import JobEnded
from schemas.settings import Settings
from schemas.spec import VideoSpec
from storage.s3 import IDEMPOTENCY_PREFIX
from tests.unit.test_api_websocket import RESULT, LocalStore, LocalTemplates
from tests.unit.test_input_bounds import CLIPS, INTERNAL, KEYS, PUBLIC, SPEC, RecordingPublisher, SlowEstimate


def _client_error(code: str, status: int, operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


class FakeS3:
    """The three calls the claim store makes, with S3's conditional-write semantics, atomically."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.lock = threading.Lock()

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **kw: Any) -> dict[str, Any]:
        time.sleep(0.01)  # widen the window in which concurrent requests overlap
        with self.lock:
            current = self.objects.get(Key)
            if kw.get("IfNoneMatch") == "*" and current is not None:
                raise _client_error("PreconditionFailed", 412, "PutObject")
            if "IfMatch" in kw and current is None:
                raise _client_error("NoSuchKey", 404, "PutObject")
            if "IfMatch" in kw and current is not None and current[1] != kw["IfMatch"]:
                raise _client_error("PreconditionFailed", 412, "PutObject")
            etag = f'"{hashlib.md5(Body).hexdigest()}"'
            self.objects[Key] = (Body, etag)
            return {"ETag": etag}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        with self.lock:
            if Key not in self.objects:
                raise _client_error("NoSuchKey", 404, "GetObject")
            body, etag = self.objects[Key]
        return {"Body": io.BytesIO(body), "ETag": etag}

    def delete_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        with self.lock:
            self.objects.pop(Key, None)
        return {}

    def record(self, key: str) -> dict[str, Any]:
        return dict(orjson.loads(self.objects[key][0]))


class FailingOnce(RecordingPublisher):
    """The broker refuses the first job."""

    def __init__(self, templates: LocalTemplates) -> None:
        super().__init__(templates)
        self.failures = 1

    async def submit(self, request: Any, accepted: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker down")
        await super().submit(request, accepted)


CONFIG = Settings(kafka_bootstrap_servers="unused:9092", **KEYS)


def _service(s3: Any, publisher: RecordingPublisher | None = None) -> JobService:
    """One API instance: its own job store, the shared S3 (and, when given, the shared broker)."""
    templates, jobs = LocalTemplates(CONFIG), LocalStore(CONFIG)
    return JobService(
        CONFIG,
        jobs,
        publisher or RecordingPublisher(templates),  # type: ignore[arg-type]
        SlowEstimate(),  # type: ignore[arg-type]
        RateLimiter(0),
        templates,
        ClaimStore(CONFIG, s3),
    )


Api = tuple[TestClient[Any], JobService, FakeS3]


@pytest.fixture()
def s3() -> FakeS3:
    return FakeS3()


@pytest.fixture()
def api(s3: FakeS3) -> Iterator[Api]:
    service = _service(s3)
    with TestClient(create_app(CONFIG, service)) as client:
        yield client, service, s3


def _sent(service: JobService) -> list[str]:
    publisher = service.publisher
    assert isinstance(publisher, RecordingPublisher)
    return [request.job_id or "" for request, _ in publisher.sent]


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = (response.json().get("error")) or {}
    assert error["code"] == code, error
    return error


def _job_ids(body: dict[str, Any]) -> list[str]:
    """The jobs an accepted POST names, whichever surface answered."""
    if "clips" in body:
        return [c["job_id"] for c in body["clips"]]
    data = body.get("data") or {}
    return [body.get("job_id") or body.get("composition_id") or body.get("jobId") or data["jobId"]]


INLINE_TEMPLATE = {
    "template": {
        "width": 640,
        "height": 360,
        "duration": 2,
        "tracks": [{"type": "background", "color": "#112233"}],
    },
    "inputs": {},
}
COMPOSITION = {"clips": [{"url": "https://cdn.test/a.mp4", "trim_start": 0, "trim_end": 3}]}
PROMPT = {"prompt": "fun science brain animation", "style": "fun", "duration": 4, "aspectRatio": "16:9"}
ROUTES = [
    ("/api/v1/videocreate", SPEC, PUBLIC, 202),
    ("/api/v1/compositions", COMPOSITION, PUBLIC, 202),
    ("/api/video/generate", INLINE_TEMPLATE, PUBLIC, 202),
    ("/api/videos/generate", PROMPT, PUBLIC, 201),
    (
        "/internal/v1/process-clips",
        {**CLIPS, "clips": ["s3://videogen/a.mp4", "s3://videogen/b.mp4"]},
        INTERNAL,
        202,
    ),
]


@pytest.mark.parametrize(("path", "body", "auth", "status"), ROUTES, ids=[r[0] for r in ROUTES])
def test_the_same_key_and_body_answer_the_same_job_and_publish_once(
    api: Api, path: str, body: dict[str, Any], auth: dict[str, str], status: int
) -> None:
    client, service, _ = api
    headers = {**auth, "Idempotency-Key": "order-42"}
    first = client.post(path, json=body, headers=headers)
    assert first.status_code == status, first.text
    assert "idempotent-replayed" not in first.headers
    published = _sent(service)
    assert sorted(published) == sorted(_job_ids(first.json())) and published
    again = client.post(path, json=body, headers=headers)
    assert again.status_code == status, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert _job_ids(again.json()) == _job_ids(first.json())
    if path.endswith("process-clips"):
        assert again.json()["batch_id"] == first.json()["batch_id"]
    assert _sent(service) == published, "a replay publishes nothing"
    other = client.post(path, json=body, headers={**auth, "Idempotency-Key": "order-43"})
    assert other.status_code == status and _job_ids(other.json()) != _job_ids(first.json())


def test_whitespace_and_key_order_are_the_same_body(api: Api) -> None:
    client, service, _ = api
    headers = {**PUBLIC, "Idempotency-Key": "k1", "Content-Type": "application/json"}
    first = client.post("/api/v1/videocreate", content=orjson.dumps(SPEC), headers=headers)
    reordered = dict(reversed(list(SPEC.items())))
    spaced = orjson.dumps(reordered, option=orjson.OPT_INDENT_2) + b"\n\n"
    again = client.post("/api/v1/videocreate", content=spaced, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202), again.text
    assert again.json()["job_id"] == first.json()["job_id"] and len(_sent(service)) == 1


def test_another_body_under_the_key_is_a_409_the_user_can_act_on(api: Api) -> None:
    client, service, _ = api
    headers = {**PUBLIC, "Idempotency-Key": "order-7"}
    assert client.post("/api/v1/videocreate", json=SPEC, headers=headers).status_code == 202
    changed = client.post("/api/v1/videocreate", json={**SPEC, "duration": 3}, headers=headers)
    error = _error(changed, 409, "IDEMPOTENCY_CONFLICT")
    assert error["message"] == "Idempotency-Key 'order-7' was used with a different body; use a new key"
    assert error["details"] == {"field": "Idempotency-Key"}
    elsewhere = client.post("/api/v1/compositions", json=COMPOSITION, headers=headers)
    _error(elsewhere, 409, "IDEMPOTENCY_CONFLICT")  # the route is part of what was asked
    assert len(_sent(service)) == 1


def test_the_seed_routes_answer_a_conflict_in_their_own_shape(api: Api) -> None:
    client, _, _ = api
    headers = {**PUBLIC, "Idempotency-Key": "p-1"}
    assert client.post("/api/videos/generate", json=PROMPT, headers=headers).status_code == 201
    changed = client.post("/api/videos/generate", json={**PROMPT, "duration": 5}, headers=headers)
    assert changed.json()["success"] is False
    _error(changed, 409, "IDEMPOTENCY_CONFLICT")


def test_a_prompt_replay_does_not_run_the_generator_again(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The generator may call a model (PROMPT_GENERATOR=http): a replay answers before it."""
    client, service, _ = api
    calls: list[object] = []
    generate = StoryboardGenerator.spec

    async def counted(self: StoryboardGenerator, prompt: Any) -> VideoSpec:
        calls.append(prompt)
        return await generate(self, prompt)

    monkeypatch.setattr(StoryboardGenerator, "spec", counted)
    headers = {**PUBLIC, "Idempotency-Key": "p-2"}
    first = client.post("/api/videos/generate", json=PROMPT, headers=headers)
    again = client.post("/api/videos/generate", json=PROMPT, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert len(calls) == 1 and len(_sent(service)) == 1


def test_keys_are_per_tenant(s3: FakeS3) -> None:
    config = Settings(kafka_bootstrap_servers="unused:9092", api_keys="alpha:ka,beta:kb")
    templates = LocalTemplates(config)
    service = JobService(
        config, LocalStore(config), RecordingPublisher(templates), SlowEstimate(), RateLimiter(0),  # type: ignore[arg-type]
        templates, ClaimStore(config, s3),
    )  # fmt: skip
    with TestClient(create_app(config, service)) as client:
        alpha = client.post(
            "/api/v1/videocreate", json=SPEC, headers={"X-API-Key": "ka", "Idempotency-Key": "k"}
        )
        beta = client.post(
            "/api/v1/videocreate", json=SPEC, headers={"X-API-Key": "kb", "Idempotency-Key": "k"}
        )
    assert (alpha.status_code, beta.status_code) == (202, 202)
    assert alpha.json()["job_id"] != beta.json()["job_id"] and len(_sent(service)) == 2
    assert all(key.startswith(IDEMPOTENCY_PREFIX) and key.endswith(".json") for key in s3.objects)


def test_a_replay_answers_the_job_as_it_is_now(api: Api) -> None:
    client, service, _ = api
    headers = {**PUBLIC, "Idempotency-Key": "done"}
    job_id = client.post("/api/v1/videocreate", json=SPEC, headers=headers).json()["job_id"]
    store = service.jobs
    assert isinstance(store, LocalStore)
    completed = JobEnded(job_id=job_id, tenant="alpha", stage="notify", status="completed", result=RESULT)
    client.blocking_portal.call(store.push, completed)
    again = client.post("/api/v1/videocreate", json=SPEC, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "completed" and again.json()["result_url"] == RESULT.result_url
    assert again.headers["idempotent-replayed"] == "true" and len(_sent(service)) == 1


def test_a_claimed_job_not_seen_yet_answers_queued(api: Api) -> None:
    """Another instance claimed the key and is still publishing: its job id, queued."""
    client, service, s3 = api
    body = orjson.dumps(SPEC)
    claims = service.claims
    key = claims.object_key("alpha", "elsewhere")
    record = {"job_id": "vg_0123456789ab", "body_sha256": body_hash("/api/v1/videocreate", body)}
    s3.objects[key] = (orjson.dumps({**record, "created_at": time.time()}), '"e1"')
    headers = {**PUBLIC, "Idempotency-Key": "elsewhere", "Content-Type": "application/json"}
    again = client.post("/api/v1/videocreate", content=body, headers=headers)
    assert again.status_code == 202, again.text
    assert again.json()["job_id"] == "vg_0123456789ab" and again.json()["status"] == "processing"
    assert again.headers["idempotent-replayed"] == "true" and _sent(service) == []


def test_a_record_older_than_a_day_is_replaced(api: Api) -> None:
    client, service, s3 = api
    body = orjson.dumps(SPEC)
    key = service.claims.object_key("alpha", "old")
    stale = {
        "job_id": "vg_000000000001",
        "body_sha256": body_hash("/api/v1/videocreate", body),
        "created_at": time.time() - TTL_SECONDS - 60,
    }
    s3.objects[key] = (orjson.dumps(stale), '"stale"')
    headers = {**PUBLIC, "Idempotency-Key": "old", "Content-Type": "application/json"}
    fresh = client.post("/api/v1/videocreate", content=body, headers=headers)
    assert fresh.status_code == 202 and "idempotent-replayed" not in fresh.headers
    job_id = fresh.json()["job_id"]
    assert job_id != stale["job_id"] and _sent(service) == [job_id]
    assert s3.record(key)["job_id"] == job_id and s3.record(key)["created_at"] > time.time() - 60


def test_a_failed_publication_releases_the_key(s3: FakeS3) -> None:
    templates = LocalTemplates(CONFIG)
    service = _service(s3, FailingOnce(templates))
    headers = {**PUBLIC, "Idempotency-Key": "retry-me"}
    with TestClient(create_app(CONFIG, service), raise_server_exceptions=False) as client:
        failed = client.post("/api/v1/videocreate", json=SPEC, headers=headers)
        assert failed.status_code == 500, failed.text
        assert s3.objects == {}, "the claim was released"
        retried = client.post("/api/v1/videocreate", json=SPEC, headers=headers)
    assert retried.status_code == 202 and "idempotent-replayed" not in retried.headers
    assert _sent(service) == [retried.json()["job_id"]]


def test_a_refused_job_releases_the_key_too(api: Api) -> None:
    client, service, s3 = api
    headers = {**PUBLIC, "Idempotency-Key": "too-long"}
    refused = client.post("/api/v1/videocreate", json={**SPEC, "duration": 100_000}, headers=headers)
    assert refused.status_code == 400, refused.text
    assert s3.objects == {} and _sent(service) == []


async def test_concurrent_requests_on_two_instances_publish_once(s3: FakeS3) -> None:
    """Two API instances (their own job stores) on one broker and one bucket, five requests each."""
    first = _service(s3)
    second = _service(s3, first.publisher)  # type: ignore[arg-type]
    spec = VideoSpec.model_validate(SPEC)
    idempotency = Idempotency("race", body_hash("/api/v1/videocreate", orjson.dumps(SPEC)))
    submitted = await asyncio.gather(
        *(
            service.submit(spec, "alpha", None, quick=False, idempotency=idempotency)
            for _ in range(5)
            for service in (first, second)
        )
    )
    assert len({s.job_id for s in submitted}) == 1
    assert _sent(first) == [submitted[0].job_id]
    assert sum(not s.replayed for s in submitted) == 1


@pytest.mark.parametrize(
    ("value", "length"),
    [("x" * 256, 256), ("", 0), (" padded", 7), ("tab\tinside", 10), (b"caf\xc3\xa9", None)],
    ids=["too-long", "empty", "leading-space", "control", "not-ascii"],
)
def test_a_bad_key_is_a_400_naming_the_header(api: Api, value: str | bytes, length: int | None) -> None:
    """(A server strips the spaces around a header's value; the ASGI test client sends them.)"""
    client, service, _ = api
    headers: dict[str, Any] = {**PUBLIC, "Idempotency-Key": value}
    error = _error(client.post("/api/v1/videocreate", json=SPEC, headers=headers), 400, "INVALID_INPUT")
    assert error["details"]["fields"] == [
        {"field": "Idempotency-Key", "message": error["message"].split("Idempotency-Key: ")[1]}
    ]
    assert "must be 1 to 255 printable ASCII characters" in error["message"]
    if length is not None:
        assert f"(got {length} characters)" in error["message"]
    assert _sent(service) == []


def test_the_header_is_documented_on_every_job_creating_post(api: Api) -> None:
    client, _, _ = api
    paths = client.get("/docs/openapi.json").json()["paths"]
    for path, *_ in ROUTES:
        operation = paths[path]["post"]
        [header] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header" and not header["required"]
        assert header["schema"]["maxLength"] == 255
        assert "409" in operation["responses"]
    templates = paths["/api/v1/templates"]["post"]
    assert all(p["name"] != "Idempotency-Key" for p in templates.get("parameters", []))


# --- against botocore and moto's S3 -------------------------------------------------------------


@pytest.fixture()
def moto_claims() -> Iterator[ClaimStore]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=CONFIG.s3_bucket_name)
        yield ClaimStore(CONFIG, client)


async def test_claims_through_botocore(moto_claims: ClaimStore) -> None:
    mine = Idempotency("k", "a" * 64)
    assert await moto_claims.claim(mine, "t", {"job_id": "vg_1"}) is None
    earlier = await moto_claims.claim(mine, "t", {"job_id": "vg_2"})
    assert earlier is not None and earlier["job_id"] == "vg_1" and earlier["body_sha256"] == "a" * 64
    assert await moto_claims.find(mine, "t") == earlier
    assert await moto_claims.find(mine, "another tenant") is None
    with pytest.raises(ApiError) as caught:
        await moto_claims.claim(Idempotency("k", "b" * 64), "t", {"job_id": "vg_3"})
    assert caught.value.code == ErrorCode.IDEMPOTENCY_CONFLICT and caught.value.status_code == 409
    assert await moto_claims.claim(mine, "other tenant", {"job_id": "vg_4"}) is None
    await moto_claims.release(mine, "t")
    assert await moto_claims.claim(mine, "t", {"job_id": "vg_5"}) is None
    # a day later the record counts as absent and is replaced, conditionally on its ETag
    key = moto_claims.object_key("t", "k")
    old = {"job_id": "vg_5", "body_sha256": "a" * 64, "created_at": time.time() - TTL_SECONDS - 1}
    moto_claims.client.put_object(Bucket=CONFIG.s3_bucket_name, Key=key, Body=orjson.dumps(old))
    assert await moto_claims.claim(Idempotency("k", "c" * 64), "t", {"job_id": "vg_6"}) is None
    stored = orjson.loads(moto_claims.client.get_object(Bucket=CONFIG.s3_bucket_name, Key=key)["Body"].read())
    assert (stored["job_id"], stored["body_sha256"]) == ("vg_6", "c" * 64)


async def test_s3_failing_is_a_503_storage_error() -> None:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")  # no bucket
        with pytest.raises(ApiError) as caught:
            await ClaimStore(CONFIG, client).claim(Idempotency("k", "a" * 64), None, {"job_id": "vg_1"})
    assert caught.value.code == ErrorCode.STORAGE_ERROR and caught.value.status_code == 503
    assert caught.value.headers == {"Retry-After": "1"}
