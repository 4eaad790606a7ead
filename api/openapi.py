"""The OpenAPI document says what the API enforces: the key the video routes need, that models
refuse unknown fields (Litestar drops pydantic's `extra="forbid"`, so the document allowed fields
that every request carrying them is refused for; schemathesis found it), and that a root model is
the value it wraps (Litestar would document it as an object with a `root` field).
"""

from __future__ import annotations

from typing import Any, cast

from litestar import Router
from litestar.openapi.spec import Reference, Schema, SecurityRequirement, SecurityScheme
from litestar.plugins.pydantic import PydanticSchemaPlugin
from litestar.types import Guard
from litestar.typing import FieldDefinition
from pydantic import RootModel

from api.composition_routes import CompositionController
from api.generate_routes import GenerateController
from api.prompt_routes import PromptController
from api.routes import VideoController
from api.template_routes import TemplateController


class StrictPydanticSchemaPlugin(PydanticSchemaPlugin):
    """Pydantic models that forbid extra fields get `additionalProperties: false`; root models are
    documented as what they wrap."""

    @classmethod
    def for_pydantic_model(cls, field_definition: Any, schema_creator: Any) -> Schema:
        model = field_definition.annotation
        if issubclass(model, RootModel):
            wrapped = FieldDefinition.from_annotation(model.model_fields["root"].annotation)
            return cast(Schema, schema_creator.for_field_definition(wrapped))
        schema = super().for_pydantic_model(field_definition, schema_creator)
        if field_definition.annotation.model_config.get("extra") == "forbid":
            schema.additional_properties = False
        return schema


SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    "bearer": SecurityScheme(type="http", scheme="bearer", description="API key as a bearer token."),
    "apiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
}


def video_routes(keyed: bool, guards: list[Guard]) -> Router:
    """The keyed routes (the PRD's, compositions, templates, seed 003's and 002's) behind `guards`
    (authentication, then the rate limit), documented as needing a key (either scheme) when
    API_KEYS is set."""
    security: list[SecurityRequirement] = [{"bearer": []}, {"apiKey": []}] if keyed else []
    handlers = [
        VideoController,
        CompositionController,
        TemplateController,
        GenerateController,
        PromptController,
    ]
    return Router("/", route_handlers=handlers, security=security, guards=guards)
