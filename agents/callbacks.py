"""Delivering a finished job (or a finished batch) to its callback_url: signed, retried,
SSRF-checked, recorded.

The signature is HMAC-SHA256 over `"{timestamp}.{body}"` with the job's tenant's secret
(TENANT_CALLBACK_SECRETS) or else CALLBACK_SECRET, sent as
`X-Videogen-Signature: t={timestamp},v1={hex}`; receivers recompute it and reject stale
timestamps (the README shows how).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

import httpx
from pydantic import BaseModel

from media.netguard import check_url, redact
from media.retry import async_retrying
from schemas.errors import JobError
from schemas.events import CallbackDelivery
from schemas.settings import Settings, parse_pairs
from streams.codec import encode

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Videogen-Signature"
BACKOFF_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0


class _Undelivered(Exception):
    """An attempt worth repeating (a 5xx, a 429, a network error), with what it got."""

    def __init__(self, delivery: CallbackDelivery) -> None:
        super().__init__(delivery.error or f"HTTP {delivery.status_code}")
        self.delivery = delivery


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, tolerance_seconds: int = 300) -> bool:
    """What a receiver does; used by our tests and shown in the README."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def signing_secret(settings: Settings, tenant: str | None) -> str | None:
    """The tenant's own secret when it has one, so tenants cannot forge each other's callbacks."""
    if tenant and settings.tenant_callback_secrets:
        secrets = dict(
            parse_pairs(settings.tenant_callback_secrets.get_secret_value(), "TENANT_CALLBACK_SECRETS")
        )
        if tenant in secrets:
            return secrets[tenant]
    return settings.callback_secret.get_secret_value() if settings.callback_secret else None


async def deliver(url: str, payload: BaseModel, tenant: str | None, settings: Settings) -> CallbackDelivery:
    """POST `payload` as JSON, signed with `tenant`'s secret, retrying 5xx, 429 and network errors
    by the shared policy (media.retry), CALLBACK_RETRIES attempts in all; another answer is final."""
    body = encode(payload)
    secret = signing_secret(settings, tenant)
    try:
        target = await check_url(url, settings, "callback_url")
    except JobError as exc:
        return CallbackDelivery(delivered=False, attempts=0, error=exc.message)
    attempts = 0

    async def attempt(client: httpx.AsyncClient) -> CallbackDelivery:
        nonlocal attempts
        attempts += 1
        timestamp = int(time.time())  # signed afresh: a receiver rejects stale timestamps
        headers = {"Content-Type": "application/json", "User-Agent": "videogen-callback/1"}
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        try:
            response = await client.send(target.request(client, "POST", content=body, headers=headers))
        except httpx.HTTPError as exc:
            error = type(exc).__name__
            raise _Undelivered(CallbackDelivery(delivered=False, attempts=attempts, error=error)) from exc
        status = response.status_code
        delivery = CallbackDelivery(delivered=response.is_success, attempts=attempts, status_code=status)
        if not response.is_success and (status >= 500 or status == 429):
            raise _Undelivered(delivery)
        return delivery

    retrier = async_retrying(
        attempts=max(1, settings.callback_retries),
        first_delay=BACKOFF_SECONDS,
        cap=BACKOFF_CAP_SECONDS,
        retry_on=lambda exc: isinstance(exc, _Undelivered),
        what=f"callback to {redact(url)}",
    )
    # trust_env=False: a proxy from the environment would reroute the connection pinned by check_url
    async with httpx.AsyncClient(
        timeout=settings.network_timeout, follow_redirects=False, trust_env=False
    ) as client:
        try:
            delivery: CallbackDelivery = await retrier(attempt, client)
        except _Undelivered as exc:
            delivery = exc.delivery
    return delivery
