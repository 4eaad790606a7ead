"""The OpenAPI document says what the API enforces, since clients are generated from it: the key
the video routes need, that models refuse unknown fields (Litestar drops pydantic's
`extra="forbid"`, so the document allowed fields that every request carrying them is refused for;
schemathesis found it), that a root model is the value it wraps (Litestar would document it as an
object with a `root` field), that each property's constraints are the validator's (pydantic's
JSON Schema of it, where Litestar's own loses some), and that errors are the envelope
(api/errors.py's EnvelopeOperation). The document is served at `/docs/openapi.json` and at the
conventional `/openapi.json`.
"""

from __future__ import annotations

import re
from dataclasses import fields
from functools import cache
from typing import Any, cast

from litestar import Request, Router, get
from litestar.enums import OpenAPIMediaType
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import (
    Discriminator,
    OpenAPIType,
    Reference,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.plugins.pydantic import PydanticSchemaPlugin
from litestar.types import Guard
from litestar.typing import FieldDefinition
from pydantic import BaseModel, RootModel

from api.composition_routes import CompositionController
from api.generate_routes import GenerateController
from api.media_routes import MediaController
from api.preview_routes import PreviewController
from api.prompt_routes import PromptController
from api.routes import VideoController
from api.template_routes import TemplateController


class StrictPydanticSchemaPlugin(PydanticSchemaPlugin):
    """Pydantic models that forbid extra fields get `additionalProperties: false`; root models are
    documented as what they wrap; each property is documented by pydantic's own JSON Schema, the
    validator's."""

    @classmethod
    def for_pydantic_model(cls, field_definition: Any, schema_creator: Any) -> Schema:
        model = field_definition.annotation
        if issubclass(model, RootModel):
            wrapped = FieldDefinition.from_annotation(model.model_fields["root"].annotation)
            return cast(Schema, schema_creator.for_field_definition(wrapped))
        schema = super().for_pydantic_model(field_definition, schema_creator)
        if field_definition.annotation.model_config.get("extra") == "forbid":
            schema.additional_properties = False
        if schema.properties:
            validated = validator_properties(model)
            for name in schema.properties:
                if name in validated:
                    schema.properties[name] = validated[name]
        return schema


@cache
def _pydantic_properties(model: type[BaseModel]) -> dict[str, Any]:
    return cast(dict[str, Any], model.model_json_schema(mode="validation").get("properties", {}))


def validator_properties(model: type[BaseModel]) -> dict[str, Schema | Reference]:
    """The model's properties as pydantic's JSON Schema has them, untitled as Litestar's are. Litestar's
    own would drop constraints (a pattern or bound inside `X | None` or `float | list[Keyframe]`),
    say `oneOf` where pydantic takes any member that fits (an integer is also a number), and make a
    bounded `dict` an array. A nested model is the component Litestar registered under its name.
    New objects each time: Litestar may change a document's schemas as it builds it."""
    return {name: json_schema(property) for name, property in _pydantic_properties(model).items()}


SUBSCHEMAS = {"items", "not", "if", "then", "else", "contains", "propertyNames", "additionalProperties"}
SCHEMA_LISTS = {"anyOf", "allOf", "oneOf", "prefixItems"}
SCHEMA_MAPS = {"properties", "patternProperties", "dependentSchemas"}
ANY_JSON = "#/$defs/JsonValue"  # pydantic's JsonValue: any JSON value, the empty schema
RENAMED = {"not": "schema_not", "if": "schema_if", "else": "schema_else"}
SCHEMA_FIELDS = {field.name for field in fields(Schema)}


def _component(ref: str) -> str:
    return ref.replace("#/$defs/", "#/components/schemas/")


def json_schema(document: dict[str, Any]) -> Schema | Reference:
    """A JSON Schema (a dict) as Litestar's Schema, its titles left out and its `$defs` references
    pointing at the document's components."""
    if "$ref" in document:
        if len(document) > 1:
            raise ValueError(f"a $ref with siblings has no OpenAPI Reference: {sorted(document)}")
        if document["$ref"] == ANY_JSON:
            return Schema()
        return Reference(ref=_component(document["$ref"]))
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key == "title":
            continue
        name = RENAMED.get(key) or re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
        if name not in SCHEMA_FIELDS:
            raise ValueError(f"JSON Schema keyword {key!r} has no OpenAPI Schema field")
        if key in SUBSCHEMAS:  # a schema, or true (anything) or false (nothing)
            value = json_schema(value) if isinstance(value, dict) else Schema() if value else False
        elif key in SCHEMA_LISTS:
            value = [json_schema(member) for member in value]
        elif key in SCHEMA_MAPS:
            value = {member: json_schema(subschema) for member, subschema in value.items()}
        elif key == "type":
            value = [OpenAPIType(t) for t in value] if isinstance(value, list) else OpenAPIType(value)
        elif key == "discriminator":
            mapping = {tag: _component(ref) for tag, ref in value.get("mapping", {}).items()}
            value = Discriminator(property_name=value["propertyName"], mapping=mapping or None)
        values[name] = value
    return Schema(**values)


@get(
    "/openapi.json",
    include_in_schema=False,
    media_type=OpenAPIMediaType.OPENAPI_JSON,
    sync_to_thread=False,
)
def openapi_json(request: Request[Any, Any, Any]) -> bytes:
    """The document at the conventional path too, the same bytes as /docs/openapi.json."""
    return JsonRenderPlugin.render_json(request, request.app.openapi_schema.to_schema())


SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    "bearer": SecurityScheme(type="http", scheme="bearer", description="API key as a bearer token."),
    "apiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
}


def video_routes(keyed: bool, guards: list[Guard]) -> Router:
    """The keyed routes (the PRD's, compositions, templates, seed 003's and 002's, the studio's media
    and previews) behind `guards` (authentication, then the rate limit), documented as needing a key
    (either scheme) when API_KEYS is set."""
    security: list[SecurityRequirement] = [{"bearer": []}, {"apiKey": []}] if keyed else []
    handlers = [
        VideoController,
        CompositionController,
        TemplateController,
        GenerateController,
        PromptController,
        MediaController,
        PreviewController,
    ]
    return Router("/", route_handlers=handlers, security=security, guards=guards)
