"""Templates: a video spec whose string values may hold `{{placeholders}}`, saved once and rendered
many times with merge values and Creatomate-style modifications (api/merge.py does the merging).

A saved template is a `TemplateRecord` on the compacted topic `videogen.templates`, keyed by its
id; a null value (tombstone) deletes it. Every API instance folds that topic (api/templatestore.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

TEMPLATE_PREFIX = "tpl_"
MAX_PLACEHOLDERS = 200
TEMPLATE_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"

MergeValue = str | int | float | bool
"""A merge value: a string is spliced into the text around its placeholder; a value whose string
is nothing but the placeholder (`"x": "{{x}}"`) replaces it with its own type (a number stays one)."""

MergeValues = dict[str, MergeValue]


class TemplateBody(BaseModel):
    """POST and PUT /api/v1/templates: the whole template (PUT replaces it)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=200)
    spec: dict[str, Any] = Field(
        ...,
        description="A video spec, as the body of POST /api/v1/videocreate, whose string values may hold "
        "{{placeholders}} (letters, digits, '_' and '-'). Checked when saved, with the defaults filled in.",
    )
    defaults: MergeValues = Field(
        default_factory=dict,
        max_length=MAX_PLACEHOLDERS,
        description="A value per placeholder used when a render gives none. A placeholder that is a whole "
        "non-text value (a number, a color) needs one, so the template can be checked when saved.",
    )


class TemplateRecord(BaseModel):
    """A saved template: the value on `videogen.templates` (key: template id)."""

    template_id: str = Field(..., pattern=TEMPLATE_ID_PATTERN)
    tenant: str | None = None
    name: str
    spec: dict[str, Any]
    defaults: MergeValues = Field(default_factory=dict)
    created_at: float
    updated_at: float


class TemplateView(BaseModel):
    template_id: str
    name: str
    spec: dict[str, Any]
    defaults: MergeValues
    placeholders: list[str] = Field(description="Every placeholder of the spec, in order of first use.")
    created_at: str = Field(description="ISO 8601, UTC.")
    updated_at: str = Field(description="ISO 8601, UTC.")


class TemplateSummary(BaseModel):
    template_id: str
    name: str
    placeholders: list[str]
    created_at: str
    updated_at: str


class TemplateList(BaseModel):
    """GET /api/v1/templates: the caller's templates, most recently updated first."""

    templates: list[TemplateSummary]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(None, description="Offset of the next page; null on the last.")


class TemplateRender(BaseModel):
    """POST /api/v1/videocreate from a saved template instead of a whole spec."""

    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(..., pattern=TEMPLATE_ID_PATTERN)
    merge: MergeValues = Field(
        default_factory=dict,
        max_length=MAX_PLACEHOLDERS,
        description="A value per placeholder ({'name': 'Ada'}); values are data, never template syntax.",
    )
    modifications: dict[str, JsonValue] = Field(
        default_factory=dict,
        max_length=MAX_PLACEHOLDERS,
        description="Creatomate-style: '<element id>.<field>' set to a value ({'title.text': 'Sale'}); "
        "a nested field is dotted ('title.stroke.color').",
    )
    callback_url: str | None = Field(
        None,
        max_length=4096,
        description="POSTed the job's result (signed with X-Videogen-Signature) when it ends.",
    )
