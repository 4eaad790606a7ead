"""The OpenAPI document says what the API enforces: the key the video routes need, and that
models refuse unknown fields (Litestar drops pydantic's `extra="forbid"`, so the document allowed
fields that every request carrying them is refused for; schemathesis found it).
"""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.openapi.spec import Reference, Schema, SecurityRequirement, SecurityScheme
from litestar.plugins.pydantic import PydanticSchemaPlugin
from litestar.types import Guard

from api.composition_routes import CompositionController
from api.routes import VideoController


class StrictPydanticSchemaPlugin(PydanticSchemaPlugin):
    """Pydantic models that forbid extra fields get `additionalProperties: false`."""

    @classmethod
    def for_pydantic_model(cls, field_definition: Any, schema_creator: Any) -> Schema:
        schema = super().for_pydantic_model(field_definition, schema_creator)
        if field_definition.annotation.model_config.get("extra") == "forbid":
            schema.additional_properties = False
        return schema


SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    "bearer": SecurityScheme(type="http", scheme="bearer", description="API key as a bearer token."),
    "apiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
}


def video_routes(keyed: bool, guards: list[Guard]) -> Router:
    """The /api/v1 routes (the PRD's and the compositions API) behind `guards` (authentication,
    then the rate limit), documented as needing a key (either scheme) when API_KEYS is set."""
    security: list[SecurityRequirement] = [{"bearer": []}, {"apiKey": []}] if keyed else []
    return Router(
        "/", route_handlers=[VideoController, CompositionController], security=security, guards=guards
    )
