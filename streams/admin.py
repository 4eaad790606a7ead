"""Topic creation with explicit partition counts, before any producer or Faust touches them
(an auto-created topic gets the broker's default count and breaks table co-partitioning)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from schemas.settings import Settings
from streams.topics import ALL_TOPICS, COMPACTED

log = logging.getLogger(__name__)


async def ensure_topics(settings: Settings, attempts: int = 30) -> None:
    """Create every videogen topic that does not exist yet; existing ones are left alone."""
    for attempt in range(attempts):
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=10_000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in ALL_TOPICS if t not in existing]
            if missing:
                new = [
                    NewTopic(
                        name=t,
                        num_partitions=settings.kafka_topic_partitions,
                        replication_factor=settings.kafka_replication_factor,
                        topic_configs={"cleanup.policy": "compact"} if t in COMPACTED else {},
                    )
                    for t in missing
                ]
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(new)
                log.info("created topics", extra={"topics": missing})
            return
        except (KafkaConnectionError, OSError) as exc:
            if attempt == attempts - 1:
                raise
            log.info("broker not reachable yet, retrying", extra={"error": str(exc)})
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
