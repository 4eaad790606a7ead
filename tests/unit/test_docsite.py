"""The documentation site: its generated reference says what the code says, it builds with
`mkdocs build --strict` (no warning), every picture it shows exists, and the API serves it at /guide."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from api.docsite import (
    ERROR_MEANINGS,
    EXAMPLES,
    SPEC_EXAMPLE,
    example_of,
    fields_table,
    picture_spec,
    type_of,
)
from api.guide_routes import guide_files
from schemas.elements import ELEMENT_MODELS
from schemas.errors import ErrorCode
from schemas.settings import Settings
from schemas.spec import VideoSpec

ROOT = Path(__file__).resolve().parents[2]


def _nav_pages(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [page for item in node for page in _nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in _nav_pages(value)]
    return []


def test_every_element_type_has_an_example_that_validates_and_a_page_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text().replace("!ENV", ""))
    pages = _nav_pages(config["nav"])
    assert set(EXAMPLES) == set(ELEMENT_MODELS)
    for kind, example in EXAMPLES.items():
        assert f"reference/elements/{kind}.md" in pages, kind
        ELEMENT_MODELS[kind].model_validate(example.element)
        VideoSpec.model_validate(picture_spec(example))


# A field's example replaces these of the page's example (they are alternatives of one another).
REPLACES = {
    "color": {"fill_gradient"},
    "fill_color": {"fill_gradient"},
    "fill_gradient": {"color", "fill_color"},
    "source": {"cues", "transcribe", "highlight_color"},
    "transcribe": {"cues", "source"},
}


@pytest.mark.parametrize("kind", sorted(ELEMENT_MODELS))
def test_every_field_example_is_accepted_by_the_element(kind: str) -> None:
    model, base = ELEMENT_MODELS[kind], EXAMPLES[kind].element
    schema = VideoSpec.model_json_schema()["$defs"][model.__name__]
    for name, prop in schema["properties"].items():
        value = example_of(name, prop, base)
        if value is not None and name not in base:
            kept = {k: v for k, v in base.items() if k not in REPLACES.get(name, set())}
            model.model_validate({**kept, name: value})


def test_every_spec_field_example_is_accepted() -> None:
    schema = VideoSpec.model_json_schema()
    for name, prop in schema["properties"].items():
        value = example_of(name, prop, SPEC_EXAMPLE)
        assert value is not None, name
        VideoSpec.model_validate({**SPEC_EXAMPLE, name: value})


def test_every_error_code_is_explained() -> None:
    assert set(ERROR_MEANINGS) == set(ErrorCode)


def test_the_offline_theme_loads_no_web_fonts() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["theme"]["font"] is False
    assert [p if isinstance(p, str) else next(iter(p)) for p in config["plugins"]] == ["search"]


def test_field_types_defaults_and_examples_read_from_the_schema() -> None:
    assert type_of({"anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}]}) == (
        "number (0 to 1)"
    )
    assert type_of({"type": "array", "items": {"$ref": "#/$defs/Cue"}}) == "list of Cue"
    assert type_of({"enum": ["a", "b"]}) == '`"a"`, `"b"`'
    table = fields_table(
        {
            "required": ["text"],
            "properties": {
                "text": {"type": "string", "description": "What it says.", "examples": ["Hi"]},
                "size": {"type": "number", "default": 48, "description": "Pixels | vmin."},
            },
        },
        {"size": 60},
    )
    assert '| `text` | string | **required** | What it says. | `"Hi"` |' in table
    assert "| `size` | number | `48` | Pixels \\| vmin. | `60` |" in table


def test_the_site_builds_strictly_and_every_picture_exists(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    generated = subprocess.run(
        [sys.executable, "-m", "api.cli", "docs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert generated.returncode == 0, generated.stderr
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0 and "WARNING" not in built.stderr, built.stderr
    pictures = 0
    for page in site.rglob("*.html"):
        for src in re.findall(r'<img[^>]* src="([^"]+)"', page.read_text()):
            if not src.startswith(("http:", "https:", "data:")):
                assert (page.parent / src).resolve().is_file(), f"{page.relative_to(site)}: {src}"
                pictures += 1
    for kind, example in EXAMPLES.items():
        html = (site / "reference" / "elements" / f"{kind}.html").read_text()
        assert ("<img" in html) == example.picture, kind
    assert pictures >= len([e for e in EXAMPLES.values() if e.picture]) + 1  # and the studio's


def test_guide_serves_the_built_site_and_says_how_to_build_a_missing_one(tmp_path: Path) -> None:
    site = tmp_path / "site"
    with TestClient(Litestar([guide_files(site)])) as client:
        missing = client.get("/guide")
        assert missing.status_code == 404
        assert "make docs" in missing.json()["error"]["message"]
        site.mkdir()
        (site / "index.html").write_text("<h1>videogen</h1>")
        page = client.get("/guide")  # built after the start: served without a restart
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "videogen" in page.text


@pytest.mark.parametrize("path", ["/guide", "/guide/index.html"])
def test_the_app_routes_guide_outside_the_openapi_document(path: str) -> None:
    client = TestClient(create_app(Settings(api_keys="alpha:ka")))  # no lifespan: no Kafka needed
    assert client.get(path).status_code in (200, 404)  # public: never 401
    paths = client.get("/docs/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/guide")]
