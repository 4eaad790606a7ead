"""Templates with merge fields: save, list, read, replace and delete a template, each tenant its own.

Thin controllers over the job service's templates (api/templates.py); rendering one is POST
/api/v1/videocreate with `template_id` (api/routes.py), a job like any other.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import Body, FromPath, QueryParameter

from api.auth import current_tenant
from api.errors import EnvelopeOperation
from api.jobservice import JobService
from api.routes import BAD_PAGE, GUARD_RESPONSES, TOO_LARGE, error_spec
from api.templates import template_summary, template_view
from schemas.templates import TemplateBody, TemplateList, TemplateView

DEFAULT_PAGE, MAX_PAGE = 20, 100
UNKNOWN = error_spec("Unknown template, or another tenant's (NOT_FOUND).")
INVALID = error_spec(
    "Invalid template: a field of `spec` (with the defaults filled in), a default naming no placeholder, "
    "or a placeholder in a non-text field without a default (INVALID_INPUT, naming each field)."
)


class TemplateController(Controller):
    path = "/api/v1/templates"
    tags = ["templates"]
    dependencies = {"tenant": Provide(current_tenant, sync_to_thread=False)}

    @post(
        "/",
        operation_class=EnvelopeOperation,
        status_code=201,
        summary="Save a template",
        description="A video spec whose string values may hold {{placeholders}}, with defaults. Checked "
        "now; render it with POST /api/v1/videocreate {template_id, merge, modifications}.",
        responses={400: INVALID, 413: TOO_LARGE, **GUARD_RESPONSES},
    )
    async def create(
        self,
        data: Annotated[TemplateBody, Body(title="Template")],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
    ) -> TemplateView:
        return template_view(await service.templates.create(data, tenant))

    @get(
        "/",
        operation_class=EnvelopeOperation,
        summary="The caller's templates, most recently updated first",
        responses={400: BAD_PAGE, **GUARD_RESPONSES},
    )
    async def listing(
        self,
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
        limit: Annotated[
            int, QueryParameter(ge=1, le=MAX_PAGE, description="Templates per page.")
        ] = DEFAULT_PAGE,
        offset: Annotated[int, QueryParameter(ge=0, description="Templates to skip (next_offset).")] = 0,
    ) -> TemplateList:
        records, total = await service.templates.page(tenant, limit, offset)
        return TemplateList(
            templates=[template_summary(r) for r in records],
            total=total,
            limit=limit,
            offset=offset,
            next_offset=offset + limit if offset + limit < total else None,
        )

    @get(
        "/{template_id:str}",
        operation_class=EnvelopeOperation,
        summary="A template",
        responses={404: UNKNOWN, **GUARD_RESPONSES},
    )
    async def read(
        self,
        template_id: FromPath[str],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
    ) -> TemplateView:
        return template_view(await service.templates.own(template_id, tenant))

    @put(
        "/{template_id:str}",
        operation_class=EnvelopeOperation,
        summary="Replace a template",
        description="The whole template (name, spec, defaults), checked like a new one.",
        responses={400: INVALID, 404: UNKNOWN, 413: TOO_LARGE, **GUARD_RESPONSES},
    )
    async def replace(
        self,
        template_id: FromPath[str],
        data: Annotated[TemplateBody, Body(title="Template")],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
    ) -> TemplateView:
        return template_view(await service.templates.replace(template_id, data, tenant))

    @delete(
        "/{template_id:str}",
        operation_class=EnvelopeOperation,
        status_code=204,
        summary="Delete a template",
        description="Jobs already rendered from it are not affected.",
        responses={404: UNKNOWN, **GUARD_RESPONSES},
    )
    async def remove(
        self,
        template_id: FromPath[str],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
    ) -> None:
        await service.templates.delete(template_id, tenant)
