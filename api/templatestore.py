"""Saved templates: the compacted topic `videogen.templates` folded on every API instance.

Why a compacted Kafka topic: the API already rebuilds its state from Kafka at start (the job
store), so templates need no new service, survive an API restart by being read again, and are
the same on every instance. Compaction keeps the latest record of each key for good, and a null
value deletes. Every read first catches up to the topic's end offsets, so a template saved,
changed or deleted through any instance is seen so by the next request on every instance.
"""

from __future__ import annotations

import logging

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from api.topicfold import TopicFold
from schemas.settings import Settings
from schemas.templates import TemplateRecord
from streams.codec import decode
from streams.topics import TEMPLATES

log = logging.getLogger(__name__)


def visible_template(record: TemplateRecord | None, tenant: str | None) -> TemplateRecord | None:
    """The template if this caller may see it: with keys configured, only its tenant's."""
    if record is None or tenant is None or record.tenant == tenant:
        return record
    return None


class TemplateStore(TopicFold):
    topic = TEMPLATES

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._records: dict[str, TemplateRecord] = {}

    def _apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        key = (record.key or b"").decode(errors="replace")
        if record.value is None:
            self.fold(key, None)
            return
        try:
            template = decode(TemplateRecord, record.value)
        except (ValueError, ValidationError):
            log.warning("ignoring undecodable template record %r", key)
            return
        if template.template_id != key:
            log.warning("ignoring template record %r keyed %r", template.template_id, key)
            return
        self.fold(key, template)

    def fold(self, template_id: str, record: TemplateRecord | None) -> None:
        """The latest record of a template wins; None (a tombstone) deletes it."""
        if record is None:
            self._records.pop(template_id, None)
        else:
            self._records[template_id] = record

    async def get(self, template_id: str, tenant: str | None) -> TemplateRecord | None:
        """The caller's template as of now (another tenant's is None, like a missing one)."""
        await self.catch_up()
        return visible_template(self._records.get(template_id), tenant)

    async def listing(self, tenant: str | None) -> list[TemplateRecord]:
        """The caller's templates as of now."""
        await self.catch_up()
        return [r for r in self._records.values() if visible_template(r, tenant) is not None]
