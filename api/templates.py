"""Templates as the API serves them: save, read, list, delete, and fill one for a render.

A save is checked (api/merge.py, and the size of its record against KAFKA_MAX_MESSAGE_BYTES),
published to the templates topic and folded back before the answer, so the caller's next request,
on any instance, sees it. Rendering fills the template and hands an ordinary spec to the job
service: a template's job is a job like any other.
"""

from __future__ import annotations

import secrets
import time

from pydantic import JsonValue

from api.bounds import check_record_size
from api.errors import ApiError
from api.merge import check_template, placeholder_uses, render
from api.publisher import JobPublisher
from api.templatestore import TemplateStore
from schemas.errors import ErrorCode, JobError
from schemas.spec import VideoSpec
from schemas.templates import (
    TEMPLATE_PREFIX,
    MergeValues,
    TemplateBody,
    TemplateRecord,
    TemplateSummary,
    TemplateView,
)
from schemas.views import iso
from streams.codec import encode, key_bytes


def template_view(record: TemplateRecord) -> TemplateView:
    return TemplateView(
        template_id=record.template_id,
        name=record.name,
        spec=record.spec,
        defaults=record.defaults,
        placeholders=list(placeholder_uses(record.spec)),
        created_at=iso(record.created_at),
        updated_at=iso(record.updated_at),
    )


def template_summary(record: TemplateRecord) -> TemplateSummary:
    return TemplateSummary(
        template_id=record.template_id,
        name=record.name,
        placeholders=list(placeholder_uses(record.spec)),
        created_at=iso(record.created_at),
        updated_at=iso(record.updated_at),
    )


class Templates:
    def __init__(self, store: TemplateStore, publisher: JobPublisher, max_message_bytes: int) -> None:
        """`max_message_bytes` (KAFKA_MAX_MESSAGE_BYTES) bounds a saved template's record and the
        text a filled one may hold."""
        self.store = store
        self._publisher = publisher
        self._max_message_bytes = max_message_bytes

    def _checked(self, body: TemplateBody) -> None:
        try:
            check_template(body.spec, body.defaults, max_text=self._max_message_bytes)
        except JobError as exc:
            raise ApiError.of(exc) from exc

    async def _publish(self, template_id: str, record: TemplateRecord | None) -> None:
        if record is not None:
            key, value = key_bytes(template_id), encode(record)
            check_record_size("the template", key, value, self._max_message_bytes)
        await self._publisher.template(template_id, record)
        await self.store.catch_up()  # acknowledged, so below the end offsets: folded on return

    async def own(self, template_id: str, tenant: str | None) -> TemplateRecord:
        """The caller's template, or a 404 (another tenant's is not told apart from a missing one)."""
        record = await self.store.get(template_id, tenant)
        if record is None:
            raise ApiError(
                ErrorCode.NOT_FOUND,
                f"no template {template_id!r}; check the id POST /api/v1/templates returned",
            )
        return record

    async def create(self, body: TemplateBody, tenant: str | None) -> TemplateRecord:
        self._checked(body)
        template_id, now = TEMPLATE_PREFIX + secrets.token_hex(6), time.time()
        record = TemplateRecord(
            template_id=template_id,
            tenant=tenant,
            name=body.name,
            spec=body.spec,
            defaults=body.defaults,
            created_at=now,
            updated_at=now,
        )
        await self._publish(template_id, record)
        return record

    async def replace(self, template_id: str, body: TemplateBody, tenant: str | None) -> TemplateRecord:
        current = await self.own(template_id, tenant)
        self._checked(body)
        record = current.model_copy(
            update={
                "name": body.name,
                "spec": body.spec,
                "defaults": body.defaults,
                "updated_at": time.time(),
            }
        )
        await self._publish(template_id, record)
        return record

    async def delete(self, template_id: str, tenant: str | None) -> None:
        await self.own(template_id, tenant)
        await self._publish(template_id, None)

    async def page(self, tenant: str | None, limit: int, offset: int) -> tuple[list[TemplateRecord], int]:
        """A page of the caller's templates, most recently updated first, and how many in all."""
        records = await self.store.listing(tenant)
        records.sort(key=lambda r: (r.updated_at, r.template_id), reverse=True)
        return records[offset : offset + limit], len(records)

    async def spec_for(
        self,
        template_id: str,
        tenant: str | None,
        values: MergeValues,
        modifications: dict[str, JsonValue] | None = None,
        *,
        values_field: str = "merge",
    ) -> VideoSpec:
        """The caller's template filled with `values` (named `values_field` in errors) and
        modifications: a spec like any other, or a 400 naming what does not fit."""
        record = await self.own(template_id, tenant)
        try:
            return render(
                record.spec,
                record.defaults,
                values,
                modifications,
                values_field=values_field,
                max_text=self._max_message_bytes,
            )
        except JobError as exc:
            raise ApiError.of(exc) from exc
