"""S3: the client, object keys, result URLs and the upload with its error mapping."""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

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
}
MULTIPART_THRESHOLD = 16 * 1024 * 1024


def object_key(job_id: str, submitted_at_ms: int, output_format: str) -> str:
    """Deterministic per job, so a retried upload overwrites instead of duplicating."""
    return f"processed/video_{job_id}_{submitted_at_ms}.{output_format}"


@lru_cache(maxsize=4)
def _client(endpoint: str | None, region: str, key_id: str | None, secret: str | None) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=60),
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


def delete_object(settings: Settings, key: str) -> None:
    s3_client(settings).delete_object(Bucket=settings.s3_bucket_name, Key=key)


def _map_error(exc: Exception) -> JobError:
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return JobError(ErrorCode.S3_ACCESS_DENIED, "the storage credentials may not write to the bucket")
    if code in ("NoSuchBucket", "404"):
        return JobError(ErrorCode.S3_BUCKET_NOT_FOUND, "the result bucket does not exist")
    return JobError(
        ErrorCode.S3_UPLOAD_FAILED, "uploading the result failed", {"reason": code or type(exc).__name__}
    )


def upload_file(settings: Settings, path: Path, key: str, output_format: str) -> int:
    """Upload with retries and verify the stored size; returns it. Blocking: run in a thread."""
    client = s3_client(settings)
    size = path.stat().st_size
    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD)
    last: JobError | None = None
    for attempt in range(max(1, settings.upload_retries)):
        try:
            client.upload_file(
                str(path),
                settings.s3_bucket_name,
                key,
                ExtraArgs={"ContentType": CONTENT_TYPES[output_format]},
                Config=config,
            )
            stored = int(client.head_object(Bucket=settings.s3_bucket_name, Key=key)["ContentLength"])
            if stored != size:
                raise JobError(
                    ErrorCode.S3_UPLOAD_FAILED, f"stored object has {stored} bytes, expected {size}"
                )
            return size
        except JobError as exc:
            last = exc
        except (ClientError, BotoCoreError) as exc:
            last = _map_error(exc)
            if last.code in (ErrorCode.S3_ACCESS_DENIED, ErrorCode.S3_BUCKET_NOT_FOUND):
                raise last from exc
        log.warning("upload attempt %d failed: %s", attempt + 1, last.message)
        time.sleep(min(8.0, 0.5 * 2**attempt))
    assert last is not None
    raise last
