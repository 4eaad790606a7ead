"""JSON Schemas of the Kafka contract, generated from the models (never written by hand).

`videogen schemas` rewrites `schemas/json/`; a test fails when the committed files drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter

from schemas.batches import BatchItemEnded
from schemas.events import JOB_EVENT, DeadLetter, JobRequested, JobResult
from schemas.spec import VideoSpec
from schemas.templates import TemplateRecord

SCHEMA_DIR = Path(__file__).parent / "json"
EXPORTED: dict[str, type[BaseModel] | TypeAdapter[Any]] = {
    "job_requested": JobRequested,
    "job_event": JOB_EVENT,  # a union of the event types
    "job_result": JobResult,
    "dead_letter": DeadLetter,
    "batch_item_ended": BatchItemEnded,
    "video_spec": VideoSpec,
    "template_record": TemplateRecord,
}


def render_schema(model: type[BaseModel] | TypeAdapter[Any]) -> bytes:
    schema = model.json_schema() if isinstance(model, TypeAdapter) else model.model_json_schema()
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in EXPORTED.items():
        path = directory / f"{name}.schema.json"
        path.write_bytes(render_schema(model))
        written.append(path)
    return written
