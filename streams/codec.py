"""Payloads on the wire are orjson-encoded pydantic models; decoding validates them."""

from __future__ import annotations

from typing import Any, TypeVar, overload

import orjson
from pydantic import BaseModel, TypeAdapter

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def encode(model: BaseModel) -> bytes:
    return orjson.dumps(model.model_dump(mode="json", exclude_none=True))


@overload
def decode(model: type[M], raw: bytes | str) -> M: ...


@overload
def decode(model: TypeAdapter[T], raw: bytes | str) -> T: ...


def decode(model: type[BaseModel] | TypeAdapter[Any], raw: bytes | str) -> Any:
    """Parse and validate as a model class, or as a `TypeAdapter` for what is not one class (a
    union of models, such as `schemas.events.JOB_EVENT`); raises ValueError (orjson) or
    pydantic.ValidationError."""
    data = orjson.loads(raw)
    if isinstance(model, TypeAdapter):
        return model.validate_python(data)
    return model.model_validate(data)


def key_bytes(job_id: str) -> bytes:
    return job_id.encode()
