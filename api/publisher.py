"""Publishing from the API with aiokafka (job requests, cancels, batch items, templates), each
acknowledged by the broker before we answer; a job's records carry the request's trace context."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from schemas.batches import BatchItemEnded
from schemas.errors import ErrorCode
from schemas.events import ErrorInfo, JobAccepted, JobRequested, JobState, job_ended
from schemas.settings import Settings
from schemas.templates import TemplateRecord
from streams.codec import encode, key_bytes
from streams.topics import BATCH_ITEMS, EVENTS, REQUESTED, RESULTS, TEMPLATES
from streams.tracing import publishing


class JobPublisher:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._started: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """The producer is made here, not in __init__: aiokafka needs the running loop."""
        self._started = AIOKafkaProducer(
            bootstrap_servers=self._settings.bootstrap_servers,
            acks="all",
            enable_idempotence=False,
            request_timeout_ms=15_000,
            max_request_size=self._settings.kafka_max_message_bytes,
            compression_type=None
            if self._settings.kafka_compression_type == "none"
            else self._settings.kafka_compression_type,
        )
        await self._started.start()

    async def stop(self) -> None:
        if self._started is not None:
            await self._started.stop()

    @property
    def _producer(self) -> AIOKafkaProducer:
        if self._started is None:
            raise RuntimeError("JobPublisher.start() was not awaited")
        return self._started

    async def submit(self, request: JobRequested, accepted: JobAccepted) -> None:
        """The `queued` event goes first, so every instance can see the job before any stage acts on it."""
        assert request.job_id is not None
        key = key_bytes(request.job_id)
        await self._send(EVENTS, encode(accepted), key)
        await self._send(REQUESTED, encode(request), key)

    async def _send(self, topic: str, value: bytes, key: bytes) -> None:
        with publishing(topic) as headers:
            await self._producer.send_and_wait(topic, value, key=key, headers=headers)

    async def cancel(self, state: JobState, request_id: str | None) -> None:
        """Announce the cancel on the events topic (the worker folding it stops the render) and
        publish the terminal result, as any other end of a job."""
        event, result = job_ended(
            state.job_id, "cancelled", state.stage, state.processing_time_seconds,
            tenant=state.tenant, request_id=request_id, batch=state.batch,
            error=ErrorInfo(code=ErrorCode.CANCELLED, message="the job was cancelled by the client"),
        )  # fmt: skip
        key = key_bytes(state.job_id)
        await self._send(EVENTS, encode(event), key)
        await self._send(RESULTS, encode(result), key)

    async def batch_item(self, item: BatchItemEnded) -> None:
        """An item of a batch that ended without becoming a job (it could not be queued)."""
        await self._producer.send_and_wait(BATCH_ITEMS, encode(item), key=key_bytes(item.batch.id))

    async def template(self, template_id: str, record: TemplateRecord | None) -> None:
        """A template's new version, or None to delete it (a tombstone, which compaction keeps
        until every reader has had time to see it)."""
        value = encode(record) if record is not None else None
        await self._producer.send_and_wait(TEMPLATES, value, key=key_bytes(template_id))

    async def ping(self) -> None:
        await self._producer.client.fetch_all_metadata()
