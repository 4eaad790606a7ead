"""Tenants end to end: an API with keys in front of the shared broker and worker."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.api_instance import extra_api
from tests.e2e.conftest import MediaServer, RunningStack
from tests.e2e.test_pipeline import prd_example

pytestmark = pytest.mark.e2e

KEYS = {"alpha": "alpha-key-1", "beta": "beta-key-2", "gamma": "gamma-key-3", "delta": "delta-key-4"}
RATE = 6  # per tenant and minute; each test below uses its own tenant and fewer requests


def follow(client: httpx.Client, job_id: str) -> dict[str, Any]:
    """The job's final view, from one SSE request (polling would spend the rate limit)."""
    last: dict[str, Any] = {}
    with client.stream("GET", f"/api/v1/videoresult/{job_id}/events") as events:
        assert events.status_code == 200
        for line in events.iter_lines():
            if line.startswith("data:"):
                last = orjson.loads(line[5:].strip())
    return last


@pytest.fixture(scope="module")
def tenant_api(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    gamma_hash = hashlib.sha256(KEYS["gamma"].encode()).hexdigest()
    with extra_api(
        stack,
        tmp_path_factory.mktemp("tenant-api"),
        API_KEYS=f"alpha:{KEYS['alpha']},beta:{KEYS['beta']},gamma:sha256:{gamma_hash},delta:{KEYS['delta']}",
        RATE_LIMIT_PER_MINUTE=str(RATE),
        MAX_JOBS_IN_FLIGHT_PER_TENANT="1",
        MAX_REQUEST_BODY_BYTES="4096",
        QUICK_RESPONSE_THRESHOLD_SECONDS="0",  # every POST answers 202 at once
    ) as url:
        yield url


def _client(api: str, tenant: str | None = None, bearer: bool = False) -> httpx.Client:
    headers = {}
    if tenant:
        headers = {"Authorization": f"Bearer {KEYS[tenant]}"} if bearer else {"X-API-Key": KEYS[tenant]}
    return httpx.Client(base_url=api, headers=headers, timeout=httpx.Timeout(10.0, read=120.0))


def test_no_or_wrong_key_is_401_and_health_stays_open(tenant_api: str) -> None:
    with _client(tenant_api) as client:
        for headers in ({}, {"X-API-Key": "nope"}, {"Authorization": "Bearer nope"}):
            response = client.post("/api/v1/videocreate", json={}, headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "UNAUTHORIZED"
        assert client.get("/api/v1/videoresult/vg_000000000000").status_code == 401
        assert client.get("/health").status_code == 200
        assert client.get("/docs/openapi.json").status_code == 200


def test_a_job_belongs_to_its_tenant(tenant_api: str, media_server: MediaServer) -> None:
    with _client(tenant_api, "alpha", bearer=True) as alpha, _client(tenant_api, "beta") as beta:
        response = alpha.post("/api/v1/videocreate", json=prd_example(media_server))
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        done = follow(alpha, job_id)
        assert done["status"] == "completed", done
        download = alpha.get(f"/api/v1/videoresult/{job_id}/download")
        assert download.status_code == 307 and download.headers["location"] == done["result_url"]
        assert httpx.get(download.headers["location"], timeout=30).status_code == 200
        for method, path in [
            ("GET", f"/api/v1/videoresult/{job_id}"),
            ("GET", f"/api/v1/videoresult/{job_id}/events"),
            ("GET", f"/api/v1/videoresult/{job_id}/download"),
            ("DELETE", f"/api/v1/videoresult/{job_id}"),
        ]:
            other = beta.request(method, path)
            assert other.status_code == 404, (method, path, other.text)
            assert other.json()["error"]["code"] == "NOT_FOUND"
            assert done["result_url"] not in other.text
        mine = alpha.get("/api/v1/videos").json()
        assert ([j["job_id"] for j in mine["jobs"]], mine["total"]) == ([job_id], 1), "only alpha's jobs"
        assert mine["jobs"][0]["result_url"] == done["result_url"]
        assert job_id not in beta.get("/api/v1/videos").text


def test_jobs_in_flight_are_capped_per_tenant(tenant_api: str, media_server: MediaServer) -> None:
    long_job: dict[str, Any] = {**prd_example(media_server), "duration": 120}
    with _client(tenant_api, "delta") as delta:
        first = delta.post("/api/v1/videocreate", json=long_job)
        assert first.status_code == 202, first.text
        job_id = first.json()["job_id"]
        try:
            second = delta.post("/api/v1/videocreate", json=long_job)
            assert second.status_code == 429, second.text
            assert second.json()["error"]["code"] == "RATE_LIMITED"
            assert second.headers["retry-after"]
        finally:
            assert delta.delete(f"/api/v1/videoresult/{job_id}").status_code == 200
        assert delta.get(f"/api/v1/videoresult/{job_id}").json()["status"] == "cancelled"


def test_rate_limit_per_tenant(tenant_api: str) -> None:
    with _client(tenant_api, "gamma") as gamma:  # gamma's key is configured as its hash
        codes = [gamma.get("/api/v1/videoresult/vg_000000000000").status_code for _ in range(RATE + 1)]
        assert codes == [404] * RATE + [429]
        limited = gamma.get("/api/v1/videoresult/vg_000000000000")
        assert limited.json()["error"]["code"] == "RATE_LIMITED"
        assert int(limited.headers["retry-after"]) >= 1


def test_oversized_body_is_413_in_the_envelope(tenant_api: str) -> None:
    with _client(tenant_api, "alpha") as alpha:
        response = alpha.post(
            "/api/v1/videocreate",
            content=b'{"elements": [' + b" " * 8000 + b"]}",
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "PAYLOAD_TOO_LARGE" and error["details"]["limit_bytes"] == 4096
