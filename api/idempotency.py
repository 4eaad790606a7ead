"""`Idempotency-Key` on the POSTs that create jobs: the key's claim, kept in S3.

A key's record is the S3 object `idempotency/{sha256(tenant)}/{sha256(key)}.json`, holding the job
(or batch) the first request with that key made, the hash of what that request asked (route path
and body) and when. It is created with a conditional PutObject (`If-None-Match: *`) *before* the job
is published, so of two API instances racing on one key only one publishes: S3 answers the other
412, and it reads the winner's record. A record older than `TTL_SECONDS` counts as absent and is
replaced conditionally on its ETag (`If-Match`), still race-safe. The bucket's lifecycle rule
expires the prefix after a day (storage/s3.py), and nothing of it is kept in API memory: the
state is shared by every API instance and bounded like the results.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from botocore.exceptions import BotoCoreError, ClientError
from litestar import Request
from litestar.datastructures import ResponseHeader
from litestar.openapi.spec import OpenAPIType
from litestar.params import HeaderParameter

from api.errors import ApiError
from schemas.errors import ErrorCode
from schemas.settings import Settings
from storage.s3 import IDEMPOTENCY_PREFIX, s3_client

log = logging.getLogger(__name__)

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255
KEY_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"
"""Printable ASCII; no leading or trailing space (HTTP strips them from any header value)."""
_KEY = re.compile(KEY_PATTERN)
_CLAIM_ATTEMPTS = 5
_LOST_RACE = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
_GONE = frozenset({"NoSuchKey", "404"})

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=KEY_HEADER,
        description="Any unique string (a UUID) naming this request: sent again with the same body "
        "within 24 hours, the request answers with the job it made the first time (marked "
        f"`{REPLAYED_HEADER}: true`) instead of making another; with another body it is a 409 "
        "IDEMPOTENCY_CONFLICT. 1 to 255 printable ASCII characters.",
        # a string when sent (Litestar would document `str | None` as "string or null")
        schema_extra={
            "type": OpenAPIType.STRING,
            "oneOf": None,
            "minLength": 1,
            "maxLength": MAX_KEY_LENGTH,
            "pattern": KEY_PATTERN,
        },
    ),
]

REPLAYED_DOC = ResponseHeader(
    name=REPLAYED_HEADER,
    value="true",
    documentation_only=True,
    required=False,
    description="`true` when the answer is a replay of an earlier request with the same Idempotency-Key.",
)


@dataclass(frozen=True)
class Idempotency:
    """A request's Idempotency-Key and the SHA-256 of what it asked (route path and body)."""

    key: str
    body_sha256: str


def checked_key(key: str) -> str:
    """The key, or a 400 INVALID_INPUT naming the header."""
    if len(key) <= MAX_KEY_LENGTH and _KEY.fullmatch(key):
        return key
    message = f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters (got {len(key)} characters)"
    raise ApiError(
        ErrorCode.INVALID_INPUT,
        f"invalid request: {KEY_HEADER}: {message}",
        {"fields": [{"field": KEY_HEADER, "message": message}]},
    )


def body_hash(path: str, body: bytes) -> str:
    """SHA-256 of the route path and the body as canonical JSON (keys sorted, no whitespace), so
    bodies that differ only in layout or key order are the same body."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:  # refused by the body's own validation anyway
        canonical = body
    return hashlib.sha256(path.encode() + b"\n" + canonical).hexdigest()


async def request_idempotency(
    request: Request[Any, Any, Any], idempotency_key: IdempotencyKey = None
) -> Idempotency | None:
    """The `idempotency` dependency of the job-creating POSTs: None without the header."""
    if idempotency_key is None:
        return None
    key = checked_key(idempotency_key)
    path = request.scope.get("path_template") or request.url.path
    return Idempotency(key, body_hash(path, await request.body()))


def replayed_headers(replayed: bool) -> dict[str, str]:
    return {REPLAYED_HEADER: "true"} if replayed else {}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class ClaimStore:
    """The records of Idempotency-Keys in S3 (blocking boto3 calls, run in threads)."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self._settings = settings
        self._client = client

    @property
    def client(self) -> Any:
        return self._client if self._client is not None else s3_client(self._settings)

    def object_key(self, tenant: str | None, key: str) -> str:
        tenant_hash = hashlib.sha256((tenant or "").encode()).hexdigest()
        return f"{IDEMPOTENCY_PREFIX}{tenant_hash}/{hashlib.sha256(key.encode()).hexdigest()}.json"

    async def claim(
        self, idempotency: Idempotency, tenant: str | None, record: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Claim the key for `record` (what this request is about to make): None when claimed,
        else the record of the earlier request that holds the key (a replay). 409
        IDEMPOTENCY_CONFLICT when that request had another body; 503 STORAGE_ERROR when S3 fails."""
        return await asyncio.to_thread(self._claim, idempotency, tenant, record)

    async def find(self, idempotency: Idempotency, tenant: str | None) -> dict[str, Any] | None:
        """The record of the earlier request holding the key, or None; read only (a 409 as `claim`):
        lets a surface answer a replay before costly work that `claim` would come after."""
        return await asyncio.to_thread(self._find, idempotency, tenant)

    async def update(self, idempotency: Idempotency, tenant: str | None, record: dict[str, Any]) -> None:
        """Replace this request's own claim with what it made in the end; best effort."""
        try:
            await asyncio.to_thread(self._put, self.object_key(tenant, idempotency.key), idempotency, record)
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not update the record of an Idempotency-Key: %s", exc)

    async def release(self, idempotency: Idempotency, tenant: str | None) -> None:
        """Delete this request's claim (its job was not published), so a retry can go through."""
        key = self.object_key(tenant, idempotency.key)
        try:
            await asyncio.to_thread(self.client.delete_object, Bucket=self._settings.s3_bucket_name, Key=key)
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not release the claim of an Idempotency-Key (it expires in a day): %s", exc)

    def _put(self, key: str, idempotency: Idempotency, record: dict[str, Any], **condition: str) -> None:
        body = orjson.dumps({**record, "body_sha256": idempotency.body_sha256, "created_at": time.time()})
        self.client.put_object(
            Bucket=self._settings.s3_bucket_name,
            Key=key,
            Body=body,
            ContentType="application/json",
            **condition,
        )

    def _read(self, key: str) -> tuple[dict[str, Any] | None, str] | None:
        """The record and its ETag (the record None when it cannot be read), or None when gone."""
        try:
            found = self.client.get_object(Bucket=self._settings.s3_bucket_name, Key=key)
        except ClientError as exc:
            if _code(exc) in _GONE:
                return None
            raise
        etag = str(found["ETag"])
        try:
            record = orjson.loads(found["Body"].read())
        except orjson.JSONDecodeError:
            return None, etag
        return (record if isinstance(record, dict) else None), etag

    def _claim(
        self, idempotency: Idempotency, tenant: str | None, record: dict[str, Any]
    ) -> dict[str, Any] | None:
        key = self.object_key(tenant, idempotency.key)
        try:
            condition = {"IfNoneMatch": "*"}
            for _ in range(_CLAIM_ATTEMPTS):
                try:
                    self._put(key, idempotency, record, **condition)
                    return None
                except ClientError as exc:
                    if _code(exc) not in _LOST_RACE | _GONE:
                        raise
                found = self._read(key)
                if found is None:  # released meanwhile
                    condition = {"IfNoneMatch": "*"}
                    continue
                earlier = _fresh(found[0], idempotency)
                if earlier is not None:
                    return earlier
                condition = {"IfMatch": found[1]}  # expired: replace it, unless another request just did
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        raise ApiError(
            ErrorCode.STORAGE_ERROR,
            f"{KEY_HEADER} {idempotency.key!r} is being claimed by concurrent requests; retry the request",
            headers={"Retry-After": "1"},
        )

    def _find(self, idempotency: Idempotency, tenant: str | None) -> dict[str, Any] | None:
        try:
            found = self._read(self.object_key(tenant, idempotency.key))
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        return None if found is None else _fresh(found[0], idempotency)


def _fresh(earlier: dict[str, Any] | None, idempotency: Idempotency) -> dict[str, Any] | None:
    """An earlier request's record if it holds the key still (younger than TTL_SECONDS), for the
    same body; a 409 for another body."""
    if earlier is None or time.time() - float(earlier.get("created_at", 0)) >= TTL_SECONDS:
        return None
    if earlier.get("body_sha256") != idempotency.body_sha256:
        raise ApiError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            f"{KEY_HEADER} {idempotency.key!r} was used with a different body; use a new key",
            {"field": KEY_HEADER},
        )
    return earlier


def _unavailable(exc: ClientError | BotoCoreError) -> ApiError:
    reason = _code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return ApiError(
        ErrorCode.STORAGE_ERROR,
        f"S3, where the {KEY_HEADER} is kept, failed ({reason}); retry the request",
        {"reason": reason},
        headers={"Retry-After": "1"},
    )
