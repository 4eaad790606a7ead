"""The OpenAPI document tells the truth, since clients are generated from it: errors are the
envelope the app answers with, the SSE route is an event stream, each property's constraints are
the validator's, the document is served at /openapi.json too, and the committed copy
(clients/openapi.json) and the TypeScript types generated from it (clients/typescript) are current.
In-process schemathesis (Kafka replaced) checks the answers against the document."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator
from litestar.testing import TestClient
from pydantic import BaseModel
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from api.app import create_app
from api.document import DOCUMENT_PATH, openapi_document
from api.openapi import validator_properties
from schemas.compositions import CompositionRequest
from schemas.requests import VideoCreateRequest
from schemas.settings import Settings
from schemas.templates import TemplateBody
from tests.unit.test_input_bounds import INTERNAL, PUBLIC, Stack, _stack

TYPESCRIPT_DIR = DOCUMENT_PATH.parent / "typescript"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = create_app(Settings(api_keys="a:ka", kafka_bootstrap_servers="unused:9092"))
    return app.openapi_schema.to_schema()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield method.upper(), path, operation


def _valid(document: dict[str, Any], component: str, value: Any) -> bool:
    schema = {**document, "$ref": f"#/components/schemas/{component}"}
    return Draft202012Validator(schema).is_valid(value)


# --- errors and media types ----------------------------------------------------------------------


def test_every_error_answer_is_documented_as_the_envelope(document: dict[str, Any]) -> None:
    """Litestar's `{status_code, detail}` body is nowhere; /api/videos answers in its seed's shape."""
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = response["content"]["application/json"]["schema"]
            expected = "PromptFailure" if path.startswith("/api/videos/") else "ErrorEnvelope"
            assert schema == {"$ref": f"#/components/schemas/{expected}"}, (method, path, status)


@pytest.mark.parametrize("path", ["/api/v1/videos", "/api/v1/templates"])
def test_listings_document_the_400_their_bounds_answer(
    document: dict[str, Any], stack: Stack, path: str
) -> None:
    client, _, _ = stack
    response = client.get(path, params={"limit": 0}, headers=PUBLIC)
    assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_INPUT"
    assert "400" in document["paths"][path]["get"]["responses"]


def test_a_route_that_cannot_answer_400_does_not_document_it(document: dict[str, Any]) -> None:
    assert "400" not in document["paths"]["/api/v1/videoresult/{job_id}"]["get"]["responses"]


def test_the_sse_route_is_an_event_stream(document: dict[str, Any]) -> None:
    ok = document["paths"]["/api/v1/videoresult/{job_id}/events"]["get"]["responses"]["200"]
    assert ok["content"] == {"text/event-stream": {"schema": {"type": "string"}}}


def test_every_reference_names_a_component(document: dict[str, Any]) -> None:
    references = set(re.findall(r'"(#/[^"]+)"', json.dumps(document)))
    components = {f"#/components/schemas/{name}" for name in document["components"]["schemas"]}
    assert references and references <= components


# --- constraints ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("component", "value", "valid"),
    [
        ("TemplateBody", {"name": "t", "spec": {}, "defaults": []}, False),  # schemathesis sent it
        ("TemplateBody", {"name": "t", "spec": {}, "defaults": {"n": 1, "s": "x"}}, True),
        ("CompositionClip", {"url": "0"}, False),  # schemathesis sent it
        ("CompositionClip", {"url": "HTTPS://cdn.test/a.mp4"}, True),
        ("CompositionClip", {"url": "s3://bucket/a.mp4"}, True),
        ("VideoCreateRequest", {"width": 641, "height": 360, "duration": 1, "elements": []}, False),
        ("OverlayStyle", {"color": "white"}, False),
        ("OverlayStyle", {"color": "#FFFFFFAA"}, True),
        ("TemplateRender", {"template_id": "has space"}, False),
        ("TemplateRender", {"template_id": "tpl_1", "merge": {"n": 3}}, True),  # an integer is a number
        ("Animation", {"type": "fade", "easing": "ease-out"}, True),  # a name, not also any string
        ("Animation", {"type": "fade", "easing": "bounce-ish"}, False),
    ],
)
def test_the_document_allows_what_the_validator_allows(
    document: dict[str, Any], component: str, value: Any, valid: bool
) -> None:
    assert _valid(document, component, value) is valid


@pytest.mark.parametrize("model", [VideoCreateRequest, CompositionRequest, TemplateBody])
def test_each_property_is_documented_as_pydantic_validates_it(
    document: dict[str, Any], model: type[BaseModel]
) -> None:
    documented = document["components"]["schemas"][model.__name__]["properties"]
    properties = validator_properties(model)
    assert set(properties) <= set(documented)
    for key, schema in properties.items():
        assert documented[key] == schema.to_schema(), key


# --- where it is served and what is committed ----------------------------------------------------


def test_the_document_is_served_at_openapi_json_too() -> None:
    client = TestClient(create_app(Settings(api_keys="a:ka", kafka_bootstrap_servers="unused:9092")))
    conventional, docs = client.get("/openapi.json"), client.get("/docs/openapi.json")
    assert conventional.status_code == 200  # public, as /docs is: no key
    assert conventional.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    assert conventional.content == docs.content


def test_the_committed_document_is_the_apps() -> None:
    assert DOCUMENT_PATH.read_bytes() == openapi_document(), "run `videogen openapi` (or `make types`)"


def _npm(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["npm", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(shutil.which("npm") is None, reason="Node.js (npm) is not installed")
def test_the_committed_typescript_types_are_generated_from_the_document(tmp_path: Path) -> None:
    """Regenerated as `make types` does (package.json's script, the locked openapi-typescript) from
    the committed document, and usable: example.ts type-checks against them. In a copy of the
    package with its own node_modules, so nothing else in the tree can stand in for the install."""
    package = tmp_path / "typescript"
    package.mkdir()
    for name in ("package.json", "package-lock.json", "example.ts", "videogen.d.ts"):
        shutil.copy(TYPESCRIPT_DIR / name, package / name)
    shutil.copy(DOCUMENT_PATH, tmp_path / "openapi.json")
    _npm(package, "ci", "--no-audit", "--no-fund")
    script = json.loads((package / "package.json").read_text())["scripts"]["generate"]
    generated = tmp_path / "videogen.d.ts"
    _npm(package, "exec", "--no", "--", *script.replace("videogen.d.ts", str(generated)).split())
    assert (TYPESCRIPT_DIR / "videogen.d.ts").read_text() == generated.read_text(), "run `make types`"
    _npm(package, "run", "--silent", "check")


# --- schemathesis, in process --------------------------------------------------------------------


@pytest.fixture()
def stack() -> Iterator[Stack]:
    yield from _stack()


# A schema-valid request may still break a rule the schema cannot carry (a timeline, a placeholder
# the spec lacks): a 400 naming the field is right there. The key sent is the real one, not made up.
EXCLUDED = [positive_data_acceptance, ignored_auth]
SKIPPED = {
    ("GET", "/api/v1/videoresult/{job_id}/events"),  # an unknown id is a 404 at once; a known one streams
    # the bucket, which is not here (tests/unit/test_uploads.py checks them against moto_server)
    ("GET", "/api/v1/media"),
    ("DELETE", "/api/v1/media/{upload_id}"),
}


def _fuzz(client: TestClient[Any], operation: Any) -> None:
    headers = INTERNAL if operation.path.startswith("/internal/") else PUBLIC

    @settings(
        max_examples=8,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def check(case: Any) -> None:
        request = case.as_transport_kwargs(base_url="http://testserver.local", headers=headers)
        request["headers"].pop("Authorization", None)  # a generated bearer token disagrees with the key
        request["headers"].pop("Idempotency-Key", None)  # kept in S3, which is not here
        request["headers"].update(headers)
        sent = {key: request[key] for key in ("params", "headers", "json") if key in request}
        response = client.request(request["method"], request["url"], **sent)
        case.validate_response(response, excluded_checks=EXCLUDED)

    check()


def test_answers_match_the_document(stack: Stack) -> None:
    """Every operation, a few generated requests each: no 5xx, and status, content type and body
    as documented."""
    client, _, _ = stack
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in SKIPPED:
            _fuzz(client, operation)
