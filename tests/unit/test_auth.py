"""Tenants at the HTTP edge: key parsing and hashing, header parsing, the rate limiter, and the
guarded routes (401, another tenant's job is 404, 429, 413), in process with a fake job store."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from litestar.testing import TestClient

from agents.callbacks import signing_secret
from api.app import create_app
from api.auth import KeyRing, presented_key
from api.errors import ApiError
from api.jobservice import JobService
from api.jobstore import JobStore
from api.publisher import JobPublisher
from api.ratelimit import RateLimiter
from api.templatestore import TemplateStore
from schemas.events import Ahead, JobAccepted, JobState, ResultInfo
from schemas.settings import Settings, parse_pairs


def test_keys_are_kept_only_as_sha256_digests() -> None:
    hashed = hashlib.sha256(b"beta-key").hexdigest()
    ring = KeyRing.from_settings(Settings(api_keys=f"alpha:alpha-key, beta:sha256:{hashed}"))
    assert ring.tenant_for("alpha-key") == "alpha"
    assert ring.tenant_for("beta-key") == "beta"
    assert ring.tenant_for("sha256:" + hashed) is None  # the digest itself is not a key
    assert ring.tenant_for("alpha-key ") is None and ring.tenant_for("") is None
    assert "alpha-key" not in repr(ring.__dict__)


def test_every_digest_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr("api.auth.hmac.compare_digest", spy)
    ring = KeyRing.from_settings(Settings(api_keys="a:k1,b:k2,c:k3"))
    assert ring.tenant_for("k1") == "a"
    assert len(calls) == 3, "no early exit on a match"


def test_no_keys_means_open() -> None:
    assert KeyRing.from_settings(Settings()).open
    assert not KeyRing.from_settings(Settings(api_keys="a:k")).open


@pytest.mark.parametrize("raw", ["a", "a:", ":k", "a:sha256:zz", "a:sha256:abcd"])
def test_malformed_key_settings_are_refused_at_start(raw: str) -> None:
    with pytest.raises(ValueError, match="API_KEYS"):
        KeyRing.from_settings(Settings(api_keys=raw))


def test_pairs_keep_colons_in_values() -> None:
    assert parse_pairs("t:a:b, u:c ,", "X") == [("t", "a:b"), ("u", "c")]


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"authorization": "Bearer k1"}, "k1"),
        ({"authorization": "bearer   k1 "}, "k1"),
        ({"x-api-key": " k2 "}, "k2"),
        ({"authorization": "Basic abc", "x-api-key": "k3"}, "k3"),
        ({"authorization": "Bearer "}, None),
        ({}, None),
        ({"authorization": "Bearer k1", "x-api-key": " k1"}, "k1"),
    ],
)
def test_key_from_headers(headers: dict[str, str], key: str | None) -> None:
    assert presented_key(headers) == key


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"authorization": "Bearer k1", "x-api-key": "k2"}, None),
        ({"authorization": "Bearer k1"}, {"api_key": "k2"}),
        ({"x-api-key": "k1"}, {"api_key": "k2"}),
    ],
)
def test_two_keys_that_disagree_are_refused(headers: dict[str, str], query: dict[str, str] | None) -> None:
    with pytest.raises(ApiError) as caught:
        presented_key(headers, query)
    assert caught.value.code == "UNAUTHORIZED" and caught.value.details == {"reason": "conflicting keys"}


def test_rate_limiter_bursts_then_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert all(limiter.acquire("a") is None for _ in range(60))
    wait = limiter.acquire("a")
    assert wait == pytest.approx(1.0)
    assert limiter.acquire("b") is None, "buckets are per tenant"
    now[0] += 1.0
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") is not None
    assert RateLimiter(0).acquire("a") is None, "0 disables"


class FakeJobs:
    backlog = 0

    workers = 1

    def ahead(self) -> Ahead:
        return Ahead()

    def __init__(self, *states: JobState) -> None:
        self.states = {s.job_id: s for s in states}

    def in_flight(self, tenant: str) -> int:
        return sum(1 for s in self.states.values() if s.tenant == tenant and not s.terminal)

    async def get(self, job_id: str) -> JobState | None:
        return self.states.get(job_id)


class FixedEstimate:
    async def estimate(self, spec: object, *_: object) -> float:
        return 60.0


RESULT = ResultInfo(
    result_url="http://s3.test/videogen/processed/video_vg_done.mp4",
    s3_key="processed/video_vg_done.mp4",
    file_size_bytes=10,
    duration_seconds=1.0,
    width=2,
    height=2,
    output_format="mp4",
)


def _client(**settings: Any) -> TestClient[Any]:
    config = Settings(api_keys="alpha:ka,beta:kb", **settings)
    jobs = FakeJobs(
        JobState(job_id="vg_done", tenant="alpha", status="completed", result=RESULT),
        JobState(job_id="vg_busy", tenant="alpha", status="processing"),
    )
    service = JobService(
        config,
        jobs,
        JobPublisher(config),
        FixedEstimate(),
        RateLimiter(config.rate_limit_per_minute),
        TemplateStore(config),
    )
    return TestClient(create_app(config, service))  # no lifespan: no Kafka needed


ALPHA, BETA = {"X-API-Key": "ka"}, {"Authorization": "Bearer kb"}


def test_every_video_route_needs_a_key_and_health_does_not() -> None:
    client = _client()
    for method, path in [
        ("POST", "/api/v1/videocreate"),
        ("GET", "/api/v1/videoresult/vg_done"),
        ("GET", "/api/v1/videoresult/vg_done/events"),
        ("GET", "/api/v1/videoresult/vg_done/download"),
        ("DELETE", "/api/v1/videoresult/vg_done"),
    ]:
        for headers in ({}, {"X-API-Key": "wrong"}):
            response = client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path)
            assert response.json()["error"]["code"] == "UNAUTHORIZED"
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/health").status_code == 200
    assert client.get("/docs/openapi.json").status_code == 200


@pytest.mark.parametrize("other", ["kb", "wrong"])
def test_a_bearer_and_an_x_api_key_that_disagree_are_401(other: str) -> None:
    client = _client()
    for method, path in [("GET", "/api/v1/videoresult/vg_done"), ("POST", "/api/v1/videocreate")]:
        response = client.request(method, path, headers={"Authorization": "Bearer ka", "X-API-Key": other})
        assert response.status_code == 401, (method, path, response.text)
        error = response.json()["error"]
        assert error["code"] == "UNAUTHORIZED" and error["details"] == {"reason": "conflicting keys"}
    same = client.get(
        "/api/v1/videoresult/vg_done", headers={"Authorization": "Bearer ka", "X-API-Key": "ka"}
    )
    assert same.status_code == 200


def test_another_tenants_job_is_404_never_its_data() -> None:
    client = _client()
    assert client.get("/api/v1/videoresult/vg_done", headers=ALPHA).json()["status"] == "completed"
    for method, path in [
        ("GET", "/api/v1/videoresult/vg_done"),
        ("GET", "/api/v1/videoresult/vg_done/events"),
        ("GET", "/api/v1/videoresult/vg_done/download"),
        ("DELETE", "/api/v1/videoresult/vg_busy"),
    ]:
        response = client.request(method, path, headers=BETA)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "NOT_FOUND"
        assert "result_url" not in response.text and "video_vg_done" not in response.text


def test_download_redirects_when_completed_and_conflicts_otherwise() -> None:
    client = _client()
    response = client.get("/api/v1/videoresult/vg_done/download", headers=ALPHA, follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == RESULT.result_url
    busy = client.get("/api/v1/videoresult/vg_busy/download", headers=ALPHA)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "CONFLICT"
    assert client.get("/api/v1/videoresult/vg_nope/download", headers=ALPHA).status_code == 404


def test_rate_limit_answers_429_with_retry_after() -> None:
    client = _client(rate_limit_per_minute=2)
    codes = [client.get("/api/v1/videoresult/vg_done", headers=ALPHA).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = client.get("/api/v1/videoresult/vg_done", headers=ALPHA)
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert int(limited.headers["retry-after"]) >= 1
    assert client.get("/api/v1/videoresult/vg_nope", headers=BETA).status_code == 404, "per tenant"


def test_jobs_in_flight_cap_answers_429() -> None:
    client = _client(max_jobs_in_flight_per_tenant=1)
    spec = {"width": 64, "height": 64, "duration": 1, "elements": [{"type": "color", "color": "#000000"}]}
    response = client.post("/api/v1/videocreate", headers=ALPHA, json=spec)
    assert response.status_code == 429, response.text
    assert response.json()["error"]["details"] == {"in_flight": 1, "limit": 1}
    assert "Retry-After" in response.headers


def test_oversized_body_is_413_in_the_envelope() -> None:
    client = _client(max_request_body_bytes=100)
    response = client.post("/api/v1/videocreate", headers=ALPHA, content=b"{" + b" " * 500 + b"}")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "PAYLOAD_TOO_LARGE" and "MAX_REQUEST_BODY_BYTES" in error["message"]


def test_callbacks_are_signed_with_the_tenants_own_secret() -> None:
    settings = Settings(callback_secret="shared", tenant_callback_secrets="alpha:alpha-secret")
    assert signing_secret(settings, "alpha") == "alpha-secret"
    assert signing_secret(settings, "beta") == "shared"
    assert signing_secret(settings, None) == "shared"
    assert signing_secret(Settings(), "alpha") is None


def test_an_accepted_job_counts_before_kafka_echoes_it() -> None:
    store = JobStore(Settings())
    store.record(JobAccepted(job_id="vg_1", tenant="a"))
    assert store.in_flight("a") == 1 and store.in_flight("b") == 0 and store.backlog == 1
    store.forget("vg_1")
    assert store.in_flight("a") == 0 and store.backlog == 0


def test_openapi_documents_the_key_only_when_keys_are_set() -> None:
    keyed = _client().get("/docs/openapi.json").json()
    assert keyed["paths"]["/api/v1/videocreate"]["post"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "security" not in keyed["paths"]["/health"]["get"]
    open_api = create_app(Settings()).openapi_schema.to_schema()
    assert "security" not in open_api["paths"]["/api/v1/videocreate"]["post"]
