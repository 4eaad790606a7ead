"""The OpenAPI document as a committed file, `clients/openapi.json`, which the TypeScript types
(`clients/typescript/videogen.d.ts`) are generated from. `videogen openapi` rewrites it; a test
fails when it drifts from the app.

It is the document of an API with keys configured, so that it shows how a client authenticates;
keys change nothing else in it. Keys are sorted and indented so that a change reads as a diff.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from schemas.settings import Settings

DOCUMENT_PATH = Path(__file__).resolve().parent.parent / "clients" / "openapi.json"


def openapi_document() -> bytes:
    from api.app import create_app  # the app imports the route modules this module is imported beside

    settings = Settings(api_keys="docs:docs", kafka_bootstrap_servers="unused:9092")
    schema = create_app(settings).openapi_schema.to_schema()
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_document(path: Path = DOCUMENT_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(openapi_document())
    return path
