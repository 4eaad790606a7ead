"""Error codes (the PRD's list, and the compositions API's) and the exception every stage raises
to fail a job cleanly."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    SOURCE_DOWNLOAD_FAILED = "SOURCE_DOWNLOAD_FAILED"
    FFMPEG_ERROR = "FFMPEG_ERROR"
    PROCESSING_TIMEOUT = "PROCESSING_TIMEOUT"
    S3_UPLOAD_FAILED = "S3_UPLOAD_FAILED"
    S3_ACCESS_DENIED = "S3_ACCESS_DENIED"
    S3_BUCKET_NOT_FOUND = "S3_BUCKET_NOT_FOUND"
    INSUFFICIENT_STORAGE = "INSUFFICIENT_STORAGE"
    MEMORY_LIMIT_EXCEEDED = "MEMORY_LIMIT_EXCEEDED"
    NETWORK_TIMEOUT = "NETWORK_TIMEOUT"
    QUEUE_FULL = "QUEUE_FULL"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"  # an Idempotency-Key sent again with another body
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    CANCELLED = "CANCELLED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # the compositions API's own
    COMPOSITION_NOT_FOUND = "COMPOSITION_NOT_FOUND"
    INVALID_CLIP_FORMAT = "INVALID_CLIP_FORMAT"
    INVALID_TIMELINE = "INVALID_TIMELINE"
    PROCESSING_FAILED = "PROCESSING_FAILED"
    STORAGE_ERROR = "STORAGE_ERROR"


class JobError(Exception):
    """A failure that ends a job with a code the user can act on."""

    def __init__(self, code: ErrorCode, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
