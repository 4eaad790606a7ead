"""The studio's uploads: presigned POST forms that put a file from the user's computer straight into
the bucket under `uploads/<tenant folder>/<upload id>/<safe name>`, and the media shelf listing.

The API never carries the bytes. It checks the declared type and size, and the form's policy has S3
hold the browser to them (exact Content-Type, 1..MAX_FILE_SIZE_MB bytes, the one key). The file is
a source like any other: a job reads it as `s3://<bucket>/uploads/...` (the result bucket is open to
sources unless SOURCE_S3_BUCKETS says otherwise) and the fetch stage screens it, size, type, pixels
and duration, as it screens a download; so a store that does not enforce the policy (moto) lets
an oversized or mislabelled file in, but never into a render.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings
from storage.s3 import delete_prefix, s3_client

MB = 1024 * 1024
UPLOADS_PREFIX = "uploads/"
SAMPLES_PREFIX = "samples/"  # deploy/samples.py
OPEN_FOLDER = "open"  # the uploads of an API without keys (API_KEYS unset)
MAX_NAME_CHARS = 100
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_GENERIC_TYPES = frozenset({"", "application/octet-stream"})  # what browsers send for a type they do not know

# What a source may be (media/screening.py's formats, subtitles as media/subtitles.py reads them):
# each accepted Content-Type with the extensions a file of it may have, the first the usual one.
TYPES: dict[str, tuple[str, ...]] = {
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "image/bmp": ("bmp",),
    "video/mp4": ("mp4", "m4v"),
    "video/quicktime": ("mov",),
    "video/webm": ("webm",),
    "video/x-matroska": ("mkv",),
    "video/x-msvideo": ("avi",),
    "video/x-flv": ("flv",),
    "video/mp2t": ("ts",),
    "video/ogg": ("ogv",),
    "audio/mpeg": ("mp3",),
    "audio/aac": ("aac",),
    "audio/mp4": ("m4a",),
    "audio/flac": ("flac",),
    "audio/wav": ("wav",),
    "audio/ogg": ("ogg", "oga", "opus"),
    "font/ttf": ("ttf",),
    "font/otf": ("otf",),
    "font/collection": ("ttc",),
    "font/woff": ("woff",),
    "font/woff2": ("woff2",),
    "application/x-subrip": ("srt",),
    "text/vtt": ("vtt",),
}
ALIASES = {  # other names browsers and systems give the same types
    "image/jpg": "image/jpeg",
    "image/x-ms-bmp": "image/bmp",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-flac": "audio/flac",
    "audio/x-m4a": "audio/mp4",
    "audio/mp3": "audio/mpeg",
    "audio/opus": "audio/ogg",
    "application/x-font-ttf": "font/ttf",
    "application/font-woff": "font/woff",
    "text/srt": "application/x-subrip",
}
BY_EXTENSION = {ext: content_type for content_type, exts in TYPES.items() for ext in exts}


@dataclass(frozen=True)
class UploadForm:
    """A presigned POST: the browser sends `fields`, then the file as `file`, to `url`."""

    upload_id: str
    url: str
    fields: dict[str, str]
    source_url: str
    expires_at: datetime
    max_bytes: int


@dataclass(frozen=True)
class StoredMedia:
    """One object on the media shelf."""

    key: str
    name: str
    source_url: str
    content_type: str
    size: int
    uploaded_at: datetime
    url: str


def _problem(field: str, message: str) -> JobError:
    """Refused up front: INVALID_INPUT naming the request's field, as a validation error does."""
    return JobError(
        ErrorCode.INVALID_INPUT,
        f"invalid upload: {field}: {message}",
        {"fields": [{"field": field, "message": message}]},
    )


def tenant_folder(tenant: str | None) -> str:
    """A stable folder name for a tenant: its name made safe, and a digest of it so two names that
    look alike once made safe ("a b", "a_b") stay apart. Tenant names are not secrets (job records
    carry them); keys never enter it."""
    if tenant is None:
        return OPEN_FOLDER
    safe = _UNSAFE.sub("_", tenant).strip("._-")[:40] or "tenant"
    return f"{safe}-{hashlib.sha256(tenant.encode()).hexdigest()[:10]}"


def content_type_of(content_type: str, filename: str) -> str:
    """The accepted Content-Type the upload will be stored with: the declared one (parameters and
    aliases understood), or, when the browser knew none, the one of the filename's extension."""
    declared = content_type.split(";")[0].strip().lower()
    declared = ALIASES.get(declared, declared)
    if declared in _GENERIC_TYPES:
        declared = BY_EXTENSION.get(_extension(filename), declared)
    if declared not in TYPES:
        raise _problem(
            "content_type",
            f"{content_type!r} is not a type a source may be; upload an image (PNG, JPEG, GIF, WebP, BMP), "
            "a video (MP4, MOV, WebM, MKV, AVI, FLV, MPEG-TS, Ogg), audio (MP3, AAC, M4A, FLAC, WAV, Ogg), "
            "a font (TTF, OTF, TTC, WOFF, WOFF2) or subtitles (SRT, WebVTT)",
        )
    return declared


def _extension(filename: str) -> str:
    return PurePosixPath(filename.replace("\\", "/")).suffix.lower().removeprefix(".")


def safe_filename(filename: str, content_type: str) -> str:
    """The untrusted filename as a key's last part: only [A-Za-z0-9._-], no leading dot, at most
    MAX_NAME_CHARS, and ending in an extension of `content_type` (the file's own when it is one,
    else the type's usual one), which the fetch stage gives FFmpeg as a hint."""
    base = PurePosixPath(filename.replace("\\", "/")).name
    extensions = TYPES[content_type]
    ext = _extension(base)
    stem = base[: -len(ext) - 1] if ext else base
    if ext not in extensions:
        ext = extensions[0]
    stem = _UNSAFE.sub("_", stem).strip("._-") or "file"
    return f"{stem[: MAX_NAME_CHARS - len(ext) - 1]}.{ext}"


def max_bytes(settings: Settings) -> int:
    """The largest upload: the cap a source download has (MAX_FILE_SIZE_MB)."""
    return int(settings.max_file_size_mb * MB)


def browser_client(settings: Settings) -> Any:
    """The client that signs what browsers use (upload forms, shelf URLs): the storage's credentials
    and the endpoint browsers reach, UPLOAD_S3_ENDPOINT_URL. Signing sends no request."""
    if not settings.upload_s3_endpoint_url:
        return s3_client(settings)
    return s3_client(settings.model_copy(update={"s3_endpoint_url": settings.upload_s3_endpoint_url}))


def _check_size(settings: Settings, size: int) -> None:
    limit = max_bytes(settings)
    if size < 1:
        raise _problem("size", "the file is empty")
    if size > limit:
        raise _problem(
            "size",
            f"{size} bytes is over the {settings.max_file_size_mb:g} MB a source may be (MAX_FILE_SIZE_MB)",
        )


def _check_usable(settings: Settings) -> None:
    """An upload must be usable as a source at once: the bucket it goes to must be open to them."""
    if settings.s3_bucket_name not in settings.readable_s3_buckets:
        raise JobError(
            ErrorCode.FORBIDDEN,
            "uploads are off: jobs may not read the bucket they would go to; add S3_BUCKET_NAME "
            f"({settings.s3_bucket_name}) to SOURCE_S3_BUCKETS",
            {"setting": "SOURCE_S3_BUCKETS"},
        )


def upload_form(
    settings: Settings, tenant: str | None, filename: str, content_type: str, size: int
) -> UploadForm:
    """A presigned POST for one file of the declared type and size. Blocking (signing only, no
    request): cheap, but call it from a thread like any boto3 call."""
    _check_usable(settings)
    stored_type = content_type_of(content_type, filename)
    _check_size(settings, size)
    upload_id = uuid.uuid4().hex
    key = f"{UPLOADS_PREFIX}{tenant_folder(tenant)}/{upload_id}/{safe_filename(filename, stored_type)}"
    limit, expiry = max_bytes(settings), settings.upload_url_expiry_seconds
    try:
        post = browser_client(settings).generate_presigned_post(
            settings.s3_bucket_name,
            key,
            Fields={"Content-Type": stored_type},
            Conditions=[{"Content-Type": stored_type}, ["content-length-range", 1, limit]],
            ExpiresIn=expiry,
        )
    except BotoCoreError as exc:  # no credentials to sign with
        raise JobError(ErrorCode.STORAGE_ERROR, "the upload form could not be signed; retry", {}) from exc
    return UploadForm(
        upload_id=upload_id,
        url=str(post["url"]),
        fields={str(k): str(v) for k, v in post["fields"].items()},
        source_url=f"s3://{settings.s3_bucket_name}/{key}",
        expires_at=datetime.now(UTC) + timedelta(seconds=expiry),
        max_bytes=limit,
    )


def _listed(client: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        objects.extend(page.get("Contents", []))
    return objects


def _stored(settings: Settings, client: Any, signer: Any, item: dict[str, Any]) -> StoredMedia | None:
    """The shelf's view of one object, its type from the object itself; None when it is gone, or
    over the size cap (a store that ignored the upload form's policy let it in; no job can use it)."""
    bucket, key = settings.s3_bucket_name, str(item["Key"])
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return None
    size = int(head["ContentLength"])
    if size > max_bytes(settings):
        return None
    url = signer.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=settings.s3_signed_url_expiry_seconds
    )
    return StoredMedia(
        key=key,
        name=key.rsplit("/", 1)[-1],
        source_url=f"s3://{bucket}/{key}",
        content_type=str(head.get("ContentType") or "application/octet-stream"),
        size=size,
        uploaded_at=head["LastModified"],
        url=str(url),
    )


def shelf(settings: Settings, prefix: str, limit: int, offset: int) -> tuple[list[StoredMedia], int]:
    """The objects under `prefix`, newest first: the page `offset`..`offset + limit` and how many
    there are. Blocking: run it in a thread."""
    client = s3_client(settings)
    try:
        objects = _listed(client, settings.s3_bucket_name, prefix)
        objects.sort(key=lambda item: (item["LastModified"], item["Key"]), reverse=True)
        signer = browser_client(settings)
        page = [_stored(settings, client, signer, item) for item in objects[offset : offset + limit]]
    except (ClientError, BotoCoreError) as exc:
        raise JobError(
            ErrorCode.STORAGE_ERROR, "the media shelf could not be read from the bucket; retry", {}
        ) from exc
    return [media for media in page if media is not None], len(objects)


def tenant_prefix(tenant: str | None) -> str:
    return f"{UPLOADS_PREFIX}{tenant_folder(tenant)}/"


def delete_upload(settings: Settings, tenant: str | None, upload_id: str) -> bool:
    """Delete the tenant's upload `upload_id`; False when it has none by that id. Blocking."""
    if not UPLOAD_ID.match(upload_id):
        return False
    try:
        return delete_prefix(settings, f"{tenant_prefix(tenant)}{upload_id}/") > 0
    except (ClientError, BotoCoreError) as exc:
        raise JobError(ErrorCode.STORAGE_ERROR, "the upload could not be deleted; retry", {}) from exc
