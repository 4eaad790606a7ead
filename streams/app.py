"""The Faust app with its topics and tables (job states, batches). Agents (in `agents/`) attach to it.

Topics carry raw bytes: payloads are decoded by the stages themselves with pydantic, so a
malformed message is a dead letter, never a crashed agent. Faust's consumer commits as it does by
itself: no message is recovered by its offsets alone. A job whose stage message no consumer will
read is re-driven from its state (agents/stages/recovery.py, docs/recovery.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from schemas.settings import Settings, get_settings
from streams import topics


def _bound_fetch_wait(max_wait_ms: int) -> None:
    """Faust builds its consumer with a fixed 1.5 s fetch wait, and a broker that holds fetches
    for the whole wait (Tansu does) then adds up to 1.5 s to every stage hop. The setting is only
    read when the consumer starts, so it is set on the consumer Faust just built."""
    create = AIOKafkaConsumerThread._create_worker_consumer
    if getattr(create, "bounded", False):
        return

    def create_bounded(self: AIOKafkaConsumerThread, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms
        return consumer

    create_bounded.bounded = True  # type: ignore[attr-defined]
    AIOKafkaConsumerThread._create_worker_consumer = create_bounded  # type: ignore[method-assign]


def table_dir(settings: Settings) -> Path:
    """One directory per worker: RocksDB locks its files, and two workers of one host (each on its
    own WORKER_WEB_PORT) must not share them. A worker restarted on its port finds its store."""
    return settings.data_dir / "faust" / f"worker-{settings.worker_web_port}"


def create_app(settings: Settings) -> faust.App:
    _bound_fetch_wait(settings.kafka_fetch_max_wait_ms)
    return faust.App(
        topics.APP_ID,
        broker=f"kafka://{settings.kafka_bootstrap_servers or 'localhost:9092'}",
        # Tables on disk (RocksDB through rocksdict): a restarted worker reads its local store and
        # the changelogs' tails, not every change ever made.
        store="rocksdb://",
        topic_partitions=settings.kafka_topic_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        topic_allow_declare=True,
        web_enabled=True,
        web_port=settings.worker_web_port,
        web_bind=settings.worker_web_host,
        web_host=settings.worker_web_host,
        broker_rebalance_timeout=settings.kafka_rebalance_timeout_seconds,
        broker_session_timeout=settings.kafka_session_timeout_seconds,
        broker_heartbeat_interval=1.0,
        # Polling goes on in Faust's consumer thread while a stage works, but a render may hold a
        # partition up to PROCESSING_TIMEOUT_MINUTES: never let the poll interval be shorter.
        broker_max_poll_interval=max(1000.0, settings.processing_timeout_minutes * 60 + 300),
        broker_commit_interval=1.0,
        stream_wait_empty=False,
        datadir=str(table_dir(settings)),
        producer_acks=-1,
        producer_max_request_size=settings.kafka_max_message_bytes,
        producer_compression_type=None
        if settings.kafka_compression_type == "none"
        else settings.kafka_compression_type,
        consumer_auto_offset_reset="earliest",
        consumer_group_instance_id=settings.kafka_group_instance_id,
        # Tansu can answer a changelog's end offset below writes it already acknowledged; Faust's
        # check then crashes the worker on recovery (seen: "persisted offset 8 > highwater 7").
        recovery_consistency_check=False,
        # Faust's fetcher stops the whole worker on a batch whose CRC does not match (a crash loop
        # under a supervisor). Every payload is validated by the stage that reads it, so a corrupted
        # record is dead-lettered or ignored there instead. Apache Kafka checks CRCs when records
        # are produced, so only bytes corrupted at rest reach a consumer.
        broker_check_crcs=False,
    )


app = create_app(get_settings())


def _raw_topic(name: str) -> Any:
    return app.topic(
        name,
        partitions=get_settings().kafka_topic_partitions,
        key_serializer="raw",
        value_serializer="raw",
    )


requested_topic = _raw_topic(topics.REQUESTED)
validated_topic = _raw_topic(topics.VALIDATED)
fetched_topic = _raw_topic(topics.FETCHED)
rendered_topic = _raw_topic(topics.RENDERED)
uploaded_topic = _raw_topic(topics.UPLOADED)
events_topic = _raw_topic(topics.EVENTS)
results_topic = _raw_topic(topics.RESULTS)
dlq_topic = _raw_topic(topics.DLQ)
batch_items_topic = _raw_topic(topics.BATCH_ITEMS)
chunks_topic = _raw_topic(topics.CHUNKS)

# job_id -> JobState as JSON; restored from its changelog topic when a worker starts.
job_state = app.Table(
    topics.JOB_STATE_TABLE,
    default=None,
    partitions=get_settings().kafka_topic_partitions,
    key_type=str,
    value_type=None,
)

# job_id -> offset of the job's first event on its events partition, for the jobs not yet ended: what
# recovery looks through (not every job ever run), and where an API instance starts reading.
active_jobs = app.Table(
    topics.ACTIVE_JOBS_TABLE,
    default=None,
    partitions=get_settings().kafka_topic_partitions,
    key_type=str,
    value_type=None,
)

# batch id -> BatchState as JSON (agents/batches.py); keyed like videogen.batches.items.
batches = app.Table(
    topics.BATCH_TABLE,
    default=None,
    partitions=get_settings().kafka_topic_partitions,
    key_type=str,
    value_type=None,
)
