"""The OpenAPI document says what the API enforces.

Litestar drops pydantic's `extra="forbid"` when it builds component schemas, so the document
allowed fields that every request carrying them is refused for (schemathesis found it).
"""

from __future__ import annotations

from typing import Any

from litestar.openapi.spec import Schema
from litestar.plugins.pydantic import PydanticSchemaPlugin


class StrictPydanticSchemaPlugin(PydanticSchemaPlugin):
    """Pydantic models that forbid extra fields get `additionalProperties: false`."""

    @classmethod
    def for_pydantic_model(cls, field_definition: Any, schema_creator: Any) -> Schema:
        schema = super().for_pydantic_model(field_definition, schema_creator)
        if field_definition.annotation.model_config.get("extra") == "forbid":
            schema.additional_properties = False
        return schema
