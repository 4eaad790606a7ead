"""Topic creation with explicit partition counts, before any producer or Faust touches them
(an auto-created topic gets the broker's default count and breaks table co-partitioning)."""

from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from media.retry import async_retrying
from schemas.settings import Settings
from streams.topics import ALL_TOPICS, COMPACTED

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.5


async def ensure_topics(settings: Settings, attempts: int = 30) -> None:
    """Create every videogen topic that does not exist yet; existing ones are left alone.

    A broker that is still starting is waited for: `attempts` tries about RETRY_SECONDS apart.
    """
    retrier = async_retrying(
        attempts=attempts,
        first_delay=RETRY_SECONDS,
        cap=RETRY_SECONDS,
        retry_on=lambda exc: isinstance(exc, KafkaConnectionError | OSError),
        what="creating topics (broker not reachable yet)",
        level=logging.INFO,
    )
    await retrier(_create_missing, settings)


async def _create_missing(settings: Settings) -> None:
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
    finally:
        await admin.close()


async def group_members(admin: AIOKafkaAdminClient, group: str) -> int:
    """Members of a consumer group: each Faust worker is one."""
    responses = await admin.describe_consumer_groups([group])
    # Every version of the response lists groups as (error, id, state, protocol type, protocol, members, ...).
    return sum(len(described[5]) for response in responses for described in response.groups)
