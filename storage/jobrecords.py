"""Finished jobs' records in the bucket, beside their videos: what GET and the history listing
answer once a job's events are gone from the API's memory or from the log.

A record is the job's final state as JSON under `processed/jobs/records/`, so the results'
lifecycle rule (S3_LIFECYCLE_DAYS) expires it with the video it describes. The history listing
reads index keys, empty objects whose names sort newest first, one set per tenant and one for
everyone (the listing of an API without keys), each with and without the job's status: a page
is a prefix listing from a cursor, never a scan of every job.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
from botocore.exceptions import ClientError
from pydantic import ValidationError

from schemas.events import JobState
from schemas.settings import Settings
from storage.s3 import RESULTS_PREFIX, s3_client

log = logging.getLogger(__name__)

JOBS_PREFIX = f"{RESULTS_PREFIX}jobs/"
RECORDS_PREFIX = f"{JOBS_PREFIX}records/"
INDEX_PREFIX = f"{JOBS_PREFIX}index/"
EVERYONE = "_all"
ANY_STATUS = "_any"
# Newest first in S3's ascending key order: milliseconds counted down from this (year 2286).
_TIME_CEILING_MS = 9_999_999_999_999


@dataclass(frozen=True)
class IndexEntry:
    """One finished job as the listing sees it before its record is read."""

    key: str
    job_id: str
    submitted_at_ms: int


def record_key(job_id: str) -> str:
    return f"{RECORDS_PREFIX}{job_id}.json"


def _owner(tenant: str | None) -> str:
    """A tenant's name never appears in a key (they are visible to whoever lists the bucket)."""
    return hashlib.sha256(tenant.encode()).hexdigest()[:32] if tenant else "_none"


def index_prefix(tenant: str | None, status: str | None, *, everyone: bool = False) -> str:
    owner = EVERYONE if everyone else _owner(tenant)
    return f"{INDEX_PREFIX}{owner}/{status or ANY_STATUS}/"


def listed_at_ms(state: JobState) -> int:
    """The time a job is listed by: its submission, or its first event for a job submitted
    without one."""
    return state.submitted_at_ms or int((state.started_at or state.updated_at) * 1000)


def _entry_name(state: JobState) -> str:
    return f"{_TIME_CEILING_MS - listed_at_ms(state):013d}-{state.job_id}"


def index_keys(state: JobState) -> list[str]:
    """Where a finished job is listed: its tenant's listing and everyone's, by any and by its status."""
    name = _entry_name(state)
    keys = {
        f"{index_prefix(state.tenant, status, everyone=everyone)}{name}"
        for everyone in (False, True)
        for status in (None, state.status)
    }
    return sorted(keys)


def parse_entry(key: str) -> IndexEntry:
    inverted, _, job_id = key.rsplit("/", 1)[1].partition("-")
    return IndexEntry(key=key, job_id=job_id, submitted_at_ms=_TIME_CEILING_MS - int(inverted))


class JobRecords:
    """The records and their index in the bucket (blocking calls: run them in a thread)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @property
    def _client(self) -> Any:
        return s3_client(self._settings)

    @property
    def _bucket(self) -> str:
        return self._settings.s3_bucket_name

    def put(self, state: JobState, *, indexed: bool = True) -> None:
        """Store the job's record, and list it unless it already is (a record rewritten when a
        callback's outcome arrives)."""
        body = orjson.dumps(state.model_dump(mode="json"))
        self._client.put_object(
            Bucket=self._bucket, Key=record_key(state.job_id), Body=body, ContentType="application/json"
        )
        if indexed:  # after the record: a listed job always has one
            keys = index_keys(state)
            with ThreadPoolExecutor(len(keys)) as pool:
                list(
                    pool.map(
                        lambda key: self._client.put_object(Bucket=self._bucket, Key=key, Body=b""), keys
                    )
                )

    def get(self, job_id: str) -> JobState | None:
        """The job's record, or None when there is none (never finished here, or expired)."""
        try:
            body = self._client.get_object(Bucket=self._bucket, Key=record_key(job_id))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        try:
            return JobState.model_validate_json(body)
        except ValidationError as exc:
            log.error("job record %s is unreadable: %s", record_key(job_id), exc)
            return None

    def entries(self, prefix: str, after: str | None, count: int) -> list[IndexEntry]:
        """Up to `count` index entries under `prefix`, newest first, after the key `after`."""
        found: list[IndexEntry] = []
        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Prefix": prefix}
        if after:
            kwargs["StartAfter"] = after
        while len(found) < count:
            page = self._client.list_objects_v2(MaxKeys=min(1000, count - len(found)), **kwargs)
            found += [parse_entry(item["Key"]) for item in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                break
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
        return found
