"""S3: the client, object keys, result URLs, the bucket's lifecycle and CORS rules, and the upload
with its error mapping."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from media.retry import retrying
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "gif": "image/gif",
    "jpg": "image/jpeg",
    "png": "image/png",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "json": "application/json",
}
MULTIPART_THRESHOLD = 16 * 1024 * 1024
RESULTS_PREFIX = "processed/"
RULE_ID = "videogen-results"
INCOMPLETE_RULE_ID = "videogen-incomplete-uploads"
INCOMPLETE_UPLOAD_DAYS = 1
IDEMPOTENCY_PREFIX = "idempotency/"
IDEMPOTENCY_RULE_ID = "videogen-idempotency"
IDEMPOTENCY_DAYS = 1
VOICE_CACHE_PREFIX = "cache/voices/"  # media/voices/cache.py
VOICE_CACHE_RULE_ID = "videogen-voice-cache"
CHUNK_CACHE_PREFIX = "cache/chunks/"  # media/chunkcache.py
CHUNK_CACHE_RULE_ID = "videogen-chunk-cache"
_OUR_RULES = frozenset(
    {RULE_ID, INCOMPLETE_RULE_ID, IDEMPOTENCY_RULE_ID, VOICE_CACHE_RULE_ID, CHUNK_CACHE_RULE_ID}
)
UPLOAD_BACKOFF_SECONDS = 0.5
UPLOAD_BACKOFF_CAP_SECONDS = 8.0
_NOT_RETRIED = frozenset({ErrorCode.S3_ACCESS_DENIED, ErrorCode.S3_BUCKET_NOT_FOUND})


def object_key(job_id: str, submitted_at_ms: int, output_format: str) -> str:
    """Deterministic per job, so a retried upload overwrites instead of duplicating."""
    return f"{RESULTS_PREFIX}video_{job_id}_{submitted_at_ms}.{output_format}"


def thumbnail_key(job_id: str, submitted_at_ms: int) -> str:
    """Next to the video's key, so the results' lifecycle rule expires both."""
    return f"{RESULTS_PREFIX}video_{job_id}_{submitted_at_ms}_thumb.jpg"


def poster_key(job_id: str, submitted_at_ms: int) -> str:
    """Next to the video's key, like the thumbnail's."""
    return f"{RESULTS_PREFIX}video_{job_id}_{submitted_at_ms}_poster.jpg"


def captions_key(job_id: str, submitted_at_ms: int, kind: str) -> str:
    """A transcript of the job's speech next to the video's key, as `srt`, `vtt` or `json` (words)."""
    return f"{RESULTS_PREFIX}video_{job_id}_{submitted_at_ms}_captions.{kind}"


@lru_cache(maxsize=4)
def _client(endpoint: str | None, region: str, key_id: str | None, secret: str | None) -> Any:
    """Flexible checksums only where S3 requires them (botocore < 1.36's behaviour).

    botocore >= 1.36 by default sends a CRC32 with every upload and validates any checksum a GET
    answers with. S3-compatible stores do not all keep those right: moto, for one, gives the copy
    of a multipart object (CopyObject) the source's composite checksum as if it were the copy's
    own, so every GET of that copy fails with "Expected checksum ... did not match". Results are
    verified by their stored size and sources by screening, so nothing relies on them.
    """
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def s3_client(settings: Settings) -> Any:
    secret = settings.aws_secret_access_key.get_secret_value() if settings.aws_secret_access_key else None
    return _client(settings.s3_endpoint_url, settings.aws_region, settings.aws_access_key_id, secret)


def result_url(settings: Settings, key: str) -> str:
    if settings.s3_signed_urls:
        return str(
            s3_client(settings).generate_presigned_url(
                "get_object",
                Params={"Bucket": settings.s3_bucket_name, "Key": key},
                ExpiresIn=settings.s3_signed_url_expiry_seconds,
            )
        )
    if settings.s3_public_url_prefix:
        return f"{settings.s3_public_url_prefix.rstrip('/')}/{key}"
    return f"https://{settings.s3_bucket_name}.s3.{settings.aws_region}.amazonaws.com/{key}"


def ensure_bucket(settings: Settings) -> None:
    client = s3_client(settings)
    try:
        client.head_bucket(Bucket=settings.s3_bucket_name)
    except ClientError:
        kwargs: dict[str, Any] = {"Bucket": settings.s3_bucket_name}
        if settings.aws_region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.aws_region}
        client.create_bucket(**kwargs)


def _rules(client: Any, getter: str, key: str, bucket: str) -> list[dict[str, Any]]:
    """The bucket's current rules of one kind but ours, so an operator's own rules survive."""
    try:
        rules = getattr(client, getter)(Bucket=bucket).get(key, [])
    except ClientError:  # none configured yet
        rules = []
    return [r for r in rules if r.get("ID") not in _OUR_RULES]


def lifecycle_rules(days: int) -> list[dict[str, Any]]:
    """Results expire after `days`; any multipart upload still incomplete a day after it began is
    aborted, bucket-wide: a worker killed mid-upload cannot abort its own, and S3 bills the parts
    of an incomplete upload until it is aborted. The API's Idempotency-Key records (api/idempotency.py)
    expire after a day, when the API counts them as absent anyway. Cached speech and transcripts
    expire like results: a template rendered again within `days` neither speaks nor listens twice,
    and cached chunks of picture too: nor draws its shared chunks twice."""
    return [
        {
            "ID": RULE_ID,
            "Filter": {"Prefix": RESULTS_PREFIX},
            "Status": "Enabled",
            "Expiration": {"Days": days},
        },
        {
            "ID": INCOMPLETE_RULE_ID,
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": INCOMPLETE_UPLOAD_DAYS},
        },
        {
            "ID": IDEMPOTENCY_RULE_ID,
            "Filter": {"Prefix": IDEMPOTENCY_PREFIX},
            "Status": "Enabled",
            "Expiration": {"Days": IDEMPOTENCY_DAYS},
        },
        {
            "ID": VOICE_CACHE_RULE_ID,
            "Filter": {"Prefix": VOICE_CACHE_PREFIX},
            "Status": "Enabled",
            "Expiration": {"Days": days},
        },
        {
            "ID": CHUNK_CACHE_RULE_ID,
            "Filter": {"Prefix": CHUNK_CACHE_PREFIX},
            "Status": "Enabled",
            "Expiration": {"Days": days},
        },
    ]


def configure_bucket(settings: Settings) -> None:
    """Expire results after S3_LIFECYCLE_DAYS (and abort incomplete uploads after a day) and let
    browsers at S3_CORS_ORIGINS GET them and POST the studio's uploads (storage/uploads.py).
    S3_LIFECYCLE_DAYS=0 leaves the lifecycle alone.

    Best effort: storage the credentials may not configure must not stop the worker.
    """
    client, bucket = s3_client(settings), settings.s3_bucket_name
    try:
        if settings.s3_lifecycle_days > 0:
            rules = [
                *_rules(client, "get_bucket_lifecycle_configuration", "Rules", bucket),
                *lifecycle_rules(settings.s3_lifecycle_days),
            ]
            client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
        if settings.s3_cors_origins:
            cors = {
                "ID": RULE_ID,
                "AllowedMethods": ["GET", "HEAD", "POST"],
                "AllowedOrigins": settings.s3_cors_origins,
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["Content-Length", "Content-Type", "ETag"],
                "MaxAgeSeconds": 3600,
            }
            rules = [*_rules(client, "get_bucket_cors", "CORSRules", bucket), cors]
            client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    except (ClientError, BotoCoreError) as exc:
        log.warning(
            "could not set the lifecycle/CORS rules of bucket %s (%s); results are served without them",
            bucket,
            _map_error(exc).code,
        )


def stored_size(settings: Settings, key: str) -> int | None:
    """The size of the object under `key`, or None when there is none (or it cannot be read)."""
    try:
        return int(s3_client(settings).head_object(Bucket=settings.s3_bucket_name, Key=key)["ContentLength"])
    except (ClientError, BotoCoreError):
        return None


def chunk_key(job_id: str, attempt_id: str, name: str) -> str:
    """Where the parts of a chunked render meet: under the results prefix, so the lifecycle rule
    expires any that a crash left behind (the render stage deletes them once joined)."""
    return f"{RESULTS_PREFIX}chunks/{job_id}/{attempt_id}/{name}"


def put_marker(settings: Settings, key: str, text: str = "") -> None:
    s3_client(settings).put_object(Bucket=settings.s3_bucket_name, Key=key, Body=text.encode("utf-8"))


def read_marker(settings: Settings, key: str) -> str | None:
    try:
        body = s3_client(settings).get_object(Bucket=settings.s3_bucket_name, Key=key)["Body"]
        return str(body.read().decode("utf-8", "replace"))
    except (ClientError, BotoCoreError):
        return None


def download_file(settings: Settings, key: str, path: Path) -> None:
    try:
        s3_client(settings).download_file(settings.s3_bucket_name, key, str(path))
    except (ClientError, BotoCoreError) as exc:
        raise _map_error(exc) from exc


def delete_prefix(settings: Settings, prefix: str) -> int:
    """Delete the objects under `prefix` (one listing: at most a thousand); how many there were."""
    client = s3_client(settings)
    listed = client.list_objects_v2(Bucket=settings.s3_bucket_name, Prefix=prefix).get("Contents", [])
    for item in listed:
        client.delete_object(Bucket=settings.s3_bucket_name, Key=item["Key"])
    return len(listed)


def delete_object(settings: Settings, key: str) -> None:
    s3_client(settings).delete_object(Bucket=settings.s3_bucket_name, Key=key)


def _map_error(exc: Exception) -> JobError:
    if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, ClientError):
        exc = exc.__context__  # boto3's transfer wraps the ClientError that says what went wrong
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return JobError(ErrorCode.S3_ACCESS_DENIED, "the storage credentials may not write to the bucket")
    if code in ("NoSuchBucket", "404"):
        return JobError(ErrorCode.S3_BUCKET_NOT_FOUND, "the result bucket does not exist")
    return JobError(
        ErrorCode.S3_UPLOAD_FAILED, "uploading the result failed", {"reason": code or type(exc).__name__}
    )


def abort_incomplete_uploads(client: Any, bucket: str, key: str) -> None:
    """Abort the multipart uploads still open under exactly `key`; best effort.

    boto3's transfer aborts its own upload when it fails, but not one whose abort request failed
    too, nor one whose creation it saw fail although S3 had created it. Keys are deterministic per
    job, so the uploads open under this one are this job's, from this attempt or an earlier one.
    """
    try:
        listed = client.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", [])
        for upload in listed:
            if upload["Key"] == key:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"])
    except (ClientError, BotoCoreError) as exc:
        log.warning(
            "could not abort the incomplete uploads of %s (%s); the bucket's lifecycle rule aborts them",
            key,
            _map_error(exc).code,
        )


def upload_file(settings: Settings, path: Path, key: str, output_format: str) -> int:
    """Upload and verify the stored size; returns it. Blocking: run in a thread.

    On top of boto's own retries, UPLOAD_RETRIES attempts by the shared policy (media.retry),
    a wrong stored size included; refused credentials or a missing bucket fail at once. Every
    failed attempt of a multipart upload ends with `abort_incomplete_uploads`, so none is left
    open in the bucket. Cancelling the awaiting task does not stop the thread: its upload runs on
    to success or to that cleanup. Only a killed process leaves one, for the lifecycle rule.
    """
    client, bucket = s3_client(settings), settings.s3_bucket_name
    size = path.stat().st_size
    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD)

    def store() -> int:
        try:
            client.upload_file(
                str(path), bucket, key, ExtraArgs={"ContentType": CONTENT_TYPES[output_format]}, Config=config
            )
            stored = int(client.head_object(Bucket=bucket, Key=key)["ContentLength"])
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            raise _map_error(exc) from exc
        if stored != size:
            raise JobError(ErrorCode.S3_UPLOAD_FAILED, f"stored object has {stored} bytes, expected {size}")
        return size

    def attempt() -> int:
        try:
            return store()
        except BaseException:
            if size >= MULTIPART_THRESHOLD:
                abort_incomplete_uploads(client, bucket, key)
            raise

    retrier = retrying(
        attempts=max(1, settings.upload_retries),
        first_delay=UPLOAD_BACKOFF_SECONDS,
        cap=UPLOAD_BACKOFF_CAP_SECONDS,
        retry_on=lambda exc: isinstance(exc, JobError) and exc.code not in _NOT_RETRIED,
        what=f"upload of {key}",
    )
    return retrier(attempt)
