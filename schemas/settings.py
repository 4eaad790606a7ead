"""The one settings object: every knob videogen reads, named as in the PRD.

Each field maps to the upper-case environment variable of the same name (and a `.env`
file, if present). The settings table (docs/settings.md) is generated from this model by
`videogen settings --markdown`, so the two never disagree.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # HTTP edge
    host: str = Field("127.0.0.1", description="Address the API binds to.")
    port: int = Field(8000, description="Port the API listens on.")
    quick_response_threshold_seconds: float = Field(
        30.0,
        description="Jobs estimated at or under this many seconds are awaited and answered "
        "with 200 + result_url; longer ones get 202 + job id at once.",
    )
    max_request_body_bytes: int = Field(1_048_576, description="Largest accepted request body.")
    max_queued_jobs: int = Field(
        200, description="Jobs not yet finished above which POST answers 503 QUEUE_FULL with Retry-After."
    )

    # Tenants
    api_keys: SecretStr | None = Field(
        None,
        description="Comma-separated `tenant:key` pairs, or `tenant:sha256:HEX` (hex SHA-256 of the key) "
        "to keep keys out of the environment. Requests must send one (`Authorization: Bearer` or "
        "`X-API-Key`). Unset: the API is open to anyone (a warning is logged at start).",
    )
    internal_api_keys: SecretStr | None = Field(
        None,
        description="Keys of the service-to-service routes under /internal/v1 (POST "
        "/internal/v1/process-clips), in API_KEYS' format and separate from it. Unset: those routes "
        "answer 403 FORBIDDEN.",
    )
    rate_limit_per_minute: int = Field(
        600,
        description="Requests per minute one tenant may make to /api/v1 (bursts up to the same number); "
        "beyond it 429 RATE_LIMITED with Retry-After. 0 disables. Applies only with API_KEYS.",
    )
    max_jobs_in_flight_per_tenant: int = Field(
        20,
        description="Unfinished jobs one tenant may have; beyond it POST answers 429 RATE_LIMITED. "
        "0 disables. Applies only with API_KEYS.",
    )
    tenant_callback_secrets: SecretStr | None = Field(
        None,
        description="Comma-separated `tenant:secret` pairs: that tenant's callbacks are signed with its own "
        "secret instead of CALLBACK_SECRET.",
    )

    # Callbacks
    callback_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key signing callback bodies (X-Videogen-Signature). Unset: unsigned."
    )
    callback_retries: int = Field(5, description="Delivery attempts for a job's callback_url.")
    stalled_job_minutes: float = Field(
        15.0, description="A job with no progress for this long is failed with PROCESSING_TIMEOUT."
    )

    # Kafka
    kafka_bootstrap_servers: str | None = Field(
        None, description="Kafka bootstrap servers. Unset: `videogen up` starts the embedded Tansu broker."
    )
    kafka_topic_partitions: int = Field(
        4, description="Partitions of every videogen topic (all equal, so a job's stages co-locate)."
    )
    kafka_replication_factor: int = Field(1, description="Replication factor for created topics.")
    kafka_rebalance_timeout_seconds: float = Field(
        3.0,
        description="Consumer-group rebalance timeout: how long the group waits for every member to "
        "rejoin. Tansu waits this long for a member it has just expelled, so it adds to every recovery; "
        "a worker that cannot rejoin within it (an overloaded host) drops out and causes another rebalance.",
    )
    kafka_session_timeout_seconds: float = Field(
        6.0,
        description="Consumer-group session timeout of the worker: how long a dead worker keeps its "
        "partitions before the group moves them. Shorter recovers faster; below about 3x the 1 s "
        "heartbeat a busy host risks evicting a live worker.",
    )
    kafka_max_message_bytes: int = Field(
        1_000_000,
        description="Largest record videogen produces, and the size every request is checked against before "
        "anything of it is published: keep it at or under the broker's `message.max.bytes` (Kafka's default "
        "is 1 MB). A request body whose job message would be larger is refused with 413 PAYLOAD_TOO_LARGE; "
        "a record too big to dead-letter whole is dead-lettered as a reference.",
    )
    kafka_compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        "none",
        description="Compression of the records videogen produces. Consumers decode all four codecs "
        "whatever this says.",
    )
    kafka_group_instance_id: str | None = Field(
        None,
        description="Static group membership: a name unique to this worker and stable across its restarts "
        "(a pod or host name plus WORKER_WEB_PORT). A worker restarted within KAFKA_SESSION_TIMEOUT_SECONDS "
        "then takes its partitions back without a rebalance. Needs a broker that honours it (Apache Kafka "
        "2.3+; the embedded Tansu does not). Unset: dynamic membership.",
    )
    kafka_fetch_max_wait_ms: int = Field(
        100,
        description="Longest a consumer fetch waits for data. Brokers like Tansu hold a fetch this long "
        "even when data arrives, so it bounds the latency of every stage hop.",
    )
    stage_attempt_stale_seconds: float = Field(
        4.0,
        description="A stage another worker started counts as still running while its job had an event "
        "this recently: a worker given the job's partition in a rebalance waits for it instead of "
        "running the stage a second time at once.",
    )
    max_stage_redrives: int = Field(
        3,
        description="Times recovery publishes a stuck job's stage message again (no consumer would read it: "
        "a rebalance dropped it, or the group committed past it) before failing the job with "
        "PROCESSING_TIMEOUT. See docs/recovery.md.",
    )
    dlq_cap_ratio: float = Field(
        0.5,
        description="A stage that dead-letters at least this share of its messages within "
        "DLQ_CAP_WINDOW_SECONDS stops consuming (a bad deploy) and its worker's /health says why. "
        "0 disables.",
    )
    dlq_cap_window_seconds: float = Field(60.0, description="Window of the dead-letter cap.")
    dlq_cap_min_messages: int = Field(
        20,
        description="Messages a stage must have seen within the window before the dead-letter cap applies.",
    )
    worker_web_port: int = Field(
        6066, description="Port of the worker's own HTTP server (health, metrics); one per worker on a host."
    )
    worker_web_host: str = Field("127.0.0.1", description="Address the worker's HTTP server binds to.")

    # S3
    s3_bucket_name: str = Field("videogen", description="Bucket that receives rendered videos.")
    aws_region: str = Field("us-east-1", description="AWS region of the bucket.")
    aws_access_key_id: str | None = Field(None, description="AWS access key id (never logged).")
    aws_secret_access_key: SecretStr | None = Field(None, description="AWS secret key (never logged).")
    s3_endpoint_url: str | None = Field(
        None, description="S3 endpoint. Unset with no AWS credentials: `videogen up` starts moto_server."
    )
    s3_public_url_prefix: str | None = Field(
        None, description="Prefix for result URLs instead of https://{bucket}.s3.{region}.amazonaws.com."
    )
    s3_signed_urls: bool = Field(False, description="Return presigned GET URLs instead of public ones.")
    s3_signed_url_expiry_seconds: int = Field(86_400, description="Lifetime of presigned URLs.")
    upload_retries: int = Field(3, description="Attempts for an S3 upload before the job fails.")
    s3_lifecycle_days: int = Field(
        30,
        description="Results under processed/ expire after this many days (bucket lifecycle rule put at "
        "worker start). 0 leaves the bucket's lifecycle alone.",
    )
    s3_cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="Comma-separated origins browsers may GET/HEAD results from and POST uploads to (bucket "
        "CORS rule put at worker start). Empty leaves the bucket's CORS alone.",
    )
    # Studio uploads (storage/uploads.py, docs/uploads.md)
    upload_url_expiry_seconds: int = Field(
        900, ge=60, le=604_800, description="Lifetime of a presigned upload form (POST /api/v1/uploads)."
    )
    upload_s3_endpoint_url: str | None = Field(
        None,
        description="S3 endpoint as browsers reach it, for upload forms and the media shelf's URLs (when "
        "S3_ENDPOINT_URL is a name only the services resolve, e.g. http://minio:9000). "
        "Unset: S3_ENDPOINT_URL.",
    )

    # Embedded stack (`videogen up`)
    embedded_broker_port: int = Field(9092, description="Port of the embedded Tansu broker.")
    embedded_s3_port: int = Field(9000, description="Port of the embedded moto S3 endpoint.")

    # Analytics
    clickhouse_url: str | None = Field(
        None, description="ClickHouse server URL. Unset: an embedded chDB store under DATA_DIR."
    )
    analytics_host: str = Field(
        "127.0.0.1", description="Address of the embedded analytics store (`videogen analytics serve`)."
    )
    analytics_port: int = Field(
        6070, description="Port of the embedded analytics store, the one process that owns the chDB path."
    )
    analytics_batch_size: int = Field(500, description="Analytics rows per ClickHouse insert.")
    analytics_flush_seconds: float = Field(
        2.0, description="Longest an analytics row waits before its batch is inserted."
    )
    analytics_buffer_max: int = Field(
        100_000, description="Analytics rows held while ClickHouse is down; beyond it the oldest are dropped."
    )
    analytics_timeout_seconds: float = Field(
        10.0,
        description="Timeout of one analytics insert or query; a slow store is retried, never waited on.",
    )
    estimator_refresh_seconds: float = Field(
        60.0, description="How often the learning estimator refits on recent finished jobs."
    )
    # ClickHouse's HTTP interface on the embedded store (analytics/chhttp.py)
    clickhouse_http_user: str = Field(
        "default", description="User ClickHouse clients name to the embedded store (with the password)."
    )
    clickhouse_http_password: SecretStr | None = Field(
        None,
        description="Password ClickHouse clients give the embedded store. Unset: no password, and "
        "only clients on loopback are answered.",
    )
    clickhouse_http_max_seconds: float = Field(
        60.0, gt=0, description="Longest a query through the embedded store's ClickHouse interface runs."
    )
    clickhouse_http_max_result_bytes: int = Field(
        256 * 1024 * 1024,
        gt=0,
        description="Largest result (uncompressed) of a query through the embedded store's ClickHouse "
        "interface.",
    )

    # Media
    ffmpeg_bin: str | None = Field(None, description="FFmpeg binary. Unset: the one in imageio-ffmpeg.")
    ffmpeg_threads: int = Field(
        0,
        description="Threads per FFmpeg render; 0 sizes each by load: a render alone on a quiet worker gets "
        "every core, renders of a loaded worker cores / MAX_CONCURRENT_JOBS.",
    )
    max_concurrent_jobs: int = Field(2, description="Renders running at once per worker.")
    chunk_min_seconds: float = Field(
        60.0,
        description="An MP4/MOV output longer than this is rendered in chunks spread over the worker "
        "group (when it has more than one worker); 0 never chunks.",
    )
    chunk_seconds: float = Field(
        20.0, description="Length of one chunk of a chunked render (rounded to whole 2 s GOPs)."
    )
    # Chunk cache (docs/chunk-cache.md)
    chunk_cache_enabled: bool = Field(
        True,
        description="Keep rendered chunks of picture in the bucket (cache/chunks/) by a hash of what they "
        "show, and copy them instead of rendering them again; a lone worker then splits renders too "
        "(never when CHUNK_MIN_SECONDS is 0).",
    )
    chunk_cache_max_mb: float = Field(
        10_240.0,
        description="Bound on the chunk cache's share of the bucket: a chunk that would pass it is not "
        "stored (entries expire with the results' lifecycle).",
    )
    chunk_cache_seconds: float = Field(
        6.0,
        description="Longest chunk while the chunk cache is on (rounded to whole 2 s GOPs; CHUNK_SECONDS "
        "when shorter): short chunks let a template whose merge values change a few seconds reuse more.",
    )
    processing_timeout_minutes: float = Field(10.0, description="A render running longer is killed.")
    max_file_size_mb: float = Field(500.0, description="Largest single source file.")
    max_job_sources_mb: float = Field(2_000.0, description="Largest total of a job's sources.")
    network_timeout: float = Field(30.0, description="Connect/read timeout for source downloads, seconds.")
    allow_private_sources: bool = Field(
        False, description="Allow sources on loopback/private addresses (tests, local stacks only)."
    )
    allowed_source_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated hosts exempt from the private-address check."
    )
    max_output_duration_sec: float = Field(600.0, description="Longest output a job may ask for.")
    max_redirects: int = Field(5, description="Redirects followed per source download; each hop re-checked.")
    fetch_retries: int = Field(
        2, description="Extra attempts for a source download after a 5xx answer or a connection reset."
    )
    fetch_backoff_seconds: float = Field(
        0.5, description="First retry delay of a source download; doubles with each retry."
    )
    fetch_concurrency: int = Field(4, description="Sources of one job downloaded at once.")
    fetch_total_timeout_seconds: float = Field(
        600.0, description="Longest a single source download may take overall (slow-drip servers)."
    )
    min_free_disk_mb: float = Field(
        1_024.0, description="Free space kept on the work disk; less fails with INSUFFICIENT_STORAGE."
    )
    source_s3_buckets: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated buckets s3:// sources may read. Empty: only S3_BUCKET_NAME.",
    )
    source_cache_mb: float = Field(
        2_048.0, description="Bytes (MB) of fetched sources cached per worker, shared by jobs; 0 disables."
    )
    source_cache_dir: Path | None = Field(None, description="Source cache directory. Unset: DATA_DIR/cache.")
    max_source_pixels: int = Field(
        100_000_000, description="Largest width x height of a source image or video (decompression bombs)."
    )
    max_source_duration_sec: float = Field(
        21_600.0, description="Longest source media accepted; longer fails with INVALID_INPUT."
    )
    keep_temp_files: bool = Field(False, description="Keep each job's work directory after it ends.")

    # Files
    data_dir: Path = Field(
        Path("var"),
        description="Where the embedded stack keeps its state, and each worker its tables on disk "
        "(faust/worker-<WORKER_WEB_PORT>/, RocksDB): keep it on a persistent volume.",
    )
    work_dir: Path | None = Field(None, description="Per-job temp files. Unset: DATA_DIR/work.")

    # Prompt-to-video jobs
    prompt_generator: Literal["storyboard", "http"] = Field(
        "storyboard",
        description="How POST /api/videos/generate turns a prompt into a video: `storyboard` (built in, "
        "offline: the prompt's phrases as animated typography over moving backgrounds, with a palette, font, "
        "pace and synthesized music per style) or `http` (a text-to-video model at PROMPT_GENERATOR_URL; its "
        "video is rendered to the asked size and duration).",
    )
    prompt_generator_url: str | None = Field(
        None,
        description="The text-to-video endpoint PROMPT_GENERATOR=http POSTs each prompt to (README: Prompt "
        "generators); it answers with the URL of its video within NETWORK_TIMEOUT.",
    )

    # Speech and captions from speech (docs/voices.md)
    speech_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible speech server (Kokoro, Piper, OpenAI: POST "
        "{SPEECH_URL}/v1/audio/speech) that speaks `speech` elements. Unset: the built-in offline SVOX Pico "
        "(en-US, en-GB, de-DE, es-ES, fr-FR, it-IT).",
    )
    speech_api_key: SecretStr | None = Field(
        None, description="Bearer key sent to SPEECH_URL (never logged). Unset: no Authorization header."
    )
    speech_model: str = Field("tts-1", description="`model` asked of SPEECH_URL.")
    speech_voice: str = Field(
        "alloy", description="`voice` asked of SPEECH_URL when a speech element names none."
    )
    transcribe_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible transcription server (whisper: POST "
        "{TRANSCRIBE_URL}/v1/audio/transcriptions, word timestamps) for captions from speech and the word "
        "timings of SPEECH_URL's audio. Unset: the built-in offline pocketsphinx (English only).",
    )
    transcribe_api_key: SecretStr | None = Field(
        None, description="Bearer key sent to TRANSCRIBE_URL (never logged). Unset: no Authorization header."
    )
    transcribe_model: str = Field("whisper-1", description="`model` asked of TRANSCRIBE_URL.")
    voice_timeout_seconds: float = Field(
        300.0,
        description="Longest one speech or transcription may take (engine processes, FFmpeg and the "
        "servers' answers together); beyond it the job fails with PROCESSING_TIMEOUT.",
    )
    voice_cache_enabled: bool = Field(
        True,
        description="Keep speech and transcripts in the bucket under cache/voices/ by content hash, so a "
        "template rendered again neither speaks nor listens twice (expired by S3_LIFECYCLE_DAYS).",
    )

    log_level: str = Field("INFO", description="Log level of every process.")

    # Studio preview (media/preview.py, docs/preview.md)
    preview_concurrency: int = Field(
        2,
        description="Previews (POST /api/v1/preview/frame and /clip) the API process renders at once; "
        "four times as many may wait, more answer 429 RATE_LIMITED. Previews do not spend the tenant's "
        "RATE_LIMIT_PER_MINUTE.",
    )
    preview_cache_mb: float = Field(
        64.0, description="Memory (MB) of rendered preview frames and clips kept per API process; 0 disables."
    )

    # Traces (streams/tracing.py, docs/observability.md)
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        description="Base URL of an OpenTelemetry collector's OTLP/HTTP receiver (e.g. `http://otel:4318`); "
        "spans of each job (HTTP request, Kafka hops, stages, FFmpeg runs) are sent to its `/v1/traces` "
        "and log lines carry `trace_id`. Unset: tracing is off. `OTEL_BSP_*` tune the batching.",
    )

    @field_validator("allowed_source_hosts", "source_s3_buckets", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip().lower() for h in value.split(",") if h.strip()]
        return value

    @field_validator("s3_cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @model_validator(mode="after")
    def _generator_url(self) -> Settings:
        if self.prompt_generator == "http" and not self.prompt_generator_url:
            raise ValueError("PROMPT_GENERATOR=http needs PROMPT_GENERATOR_URL")
        return self

    @property
    def job_work_root(self) -> Path:
        return self.work_dir or self.data_dir / "work"

    @property
    def readable_s3_buckets(self) -> list[str]:
        """The buckets s3:// sources may read: SOURCE_S3_BUCKETS, or only S3_BUCKET_NAME."""
        return self.source_s3_buckets or [self.s3_bucket_name]

    @property
    def bootstrap_servers(self) -> str:
        if not self.kafka_bootstrap_servers:
            raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set and no embedded broker is running")
        return self.kafka_bootstrap_servers


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def parse_pairs(raw: str, what: str) -> list[tuple[str, str]]:
    """`name:value,name2:value2` (the value may contain colons) into pairs."""
    pairs = []
    for item in raw.split(","):
        name, sep, value = item.strip().partition(":")
        if not item.strip():
            continue
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"{what}: expected tenant:value, got an entry without both parts")
        pairs.append((name.strip(), value.strip()))
    return pairs


def settings_markdown() -> str:
    """The settings table of docs/settings.md, generated so docs and code cannot drift."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        if isinstance(default, list):
            default = ",".join(default) or None
        shown = "(unset)" if default is None else f"`{default}`"
        rows.append(f"| `{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)
