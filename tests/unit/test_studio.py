"""The studio page is served from the package, public, and absent from the OpenAPI document; its
first example is examples/prd.json, so the page and the README start from the same spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from api.app import create_app
from schemas.requests import VideoCreateRequest
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _client() -> TestClient[Any]:
    return TestClient(create_app(Settings(api_keys="alpha:ka")))  # no lifespan: no Kafka needed


def test_root_redirects_to_the_studio_and_its_files_need_no_key() -> None:
    client = _client()
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 302 and root.headers["location"] == "/studio"
    page = client.get("/studio")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/studio/studio.js"' in page.text
    for asset, kind in (("studio.js", "text/javascript"), ("studio.css", "text/css")):
        response = client.get(f"/studio/{asset}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
    assert client.get("/api/v1/videos").status_code == 401  # the page is public, the API is not


def test_studio_routes_stay_out_of_the_openapi_document() -> None:
    paths = _client().get("/docs/openapi.json").json()["paths"]
    assert not [path for path in paths if path == "/" or path.startswith("/studio")]


def test_examples_are_valid_specs_and_the_first_is_examples_prd_json() -> None:
    examples = _client().get("/studio/examples.json").json()
    assert examples[0]["spec"] == json.loads((ROOT / "examples" / "prd.json").read_text())
    assert len({example["name"] for example in examples}) == len(examples) >= 2
    for example in examples:
        VideoCreateRequest.model_validate(example["spec"])
