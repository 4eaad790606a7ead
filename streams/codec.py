"""Payloads on the wire are orjson-encoded pydantic models; decoding validates them."""

from __future__ import annotations

from typing import TypeVar

import orjson
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def encode(model: BaseModel) -> bytes:
    return orjson.dumps(model.model_dump(mode="json", exclude_none=True))


def decode(model: type[M], raw: bytes | str) -> M:
    """Parse and validate; raises ValueError (orjson) or pydantic.ValidationError."""
    return model.model_validate(orjson.loads(raw))


def key_bytes(job_id: str) -> bytes:
    return job_id.encode()
