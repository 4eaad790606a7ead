"""The studio page is served from the package, public, and absent from the OpenAPI document; its
first example is examples/prd.json, so the page and the README start from the same spec."""

from __future__ import annotations

import json
import re
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
    assert '<script type="module" src="/studio/main.js">' in page.text
    for asset, kind in (("main.js", "text/javascript"), ("studio.css", "text/css")):
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


def test_every_module_the_page_imports_is_served_as_javascript() -> None:
    """The page is ES modules without a build step: an import of a missing file, or one served
    with another type, leaves the editor blank in the browser."""
    client = _client()
    pending, seen = ["main.js"], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        response = client.get(f"/studio/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/javascript"), name
        pending += re.findall(r'^import[^"]*"\./([\w-]+\.js)";$', response.text, re.MULTILINE)
    assert {"store.js", "timeline.js", "canvas.js", "panel.js", "jsonview.js"} <= seen
