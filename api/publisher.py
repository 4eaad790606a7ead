"""Publishing job requests from the API with aiokafka, acknowledged by the broker before we answer."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from schemas.events import JobEvent, JobRequested
from schemas.settings import Settings
from streams.codec import encode, key_bytes
from streams.topics import EVENTS, REQUESTED


class JobPublisher:
    def __init__(self, settings: Settings) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            acks="all",
            enable_idempotence=False,
            request_timeout_ms=15_000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def submit(self, request: JobRequested, accepted: JobEvent) -> None:
        """The `queued` event goes first, so every instance can see the job before any stage acts on it."""
        assert request.job_id is not None
        key = key_bytes(request.job_id)
        await self._producer.send_and_wait(EVENTS, encode(accepted), key=key)
        await self._producer.send_and_wait(REQUESTED, encode(request), key=key)

    async def ping(self) -> None:
        await self._producer.client.fetch_all_metadata()
