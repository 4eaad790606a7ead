"""The raw bytes at an offset, as the broker stores them: what a dead letter of a batch no client
can decode carries, so the producer's owner can see exactly what was sent."""

from __future__ import annotations

import logging

from aiokafka import TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest

log = logging.getLogger(__name__)

# A fetch that asks for nothing (min_bytes 0) is answered with no partitions by some brokers (Tansu).
RAW_FETCH_WAIT_MS = 500


async def fetch_raw(bootstrap_servers: str, tp: TopicPartition, offset: int, max_bytes: int) -> bytes | None:
    """The record batch holding `offset` (at most `max_bytes`), or None when the broker will not
    give it."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers)
    try:
        await client.bootstrap()
        client.add_topic(tp.topic)
        await client.force_metadata_update()
        node = client.cluster.leader_for_partition(tp)
        if node is None or node < 0:
            return None
        request = FetchRequest(
            max_wait_time=RAW_FETCH_WAIT_MS,
            min_bytes=1,
            max_bytes=max_bytes,
            isolation_level=0,
            topics=[(tp.topic, [(tp.partition, offset, max_bytes)])],
        )
        response = await client.send(node, request)
        for _topic, partitions in response.topics:
            for partition, error_code, *_rest, message_set in partitions:
                if partition == tp.partition and error_code == 0 and message_set:
                    return bytes(message_set[:max_bytes])
        return None
    except Exception:
        log.warning("could not read the raw bytes at %s@%d", tp, offset, exc_info=True)
        return None
    finally:
        await client.close()
