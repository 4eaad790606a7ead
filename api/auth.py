"""Tenants: API keys, the tenant a request speaks for, and which jobs a tenant may see.

Keys live in memory only as SHA-256 digests. A presented key is hashed and compared with
every configured digest in constant time (no early exit), so neither timing nor a memory
dump gives a key away.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from pydantic import SecretStr

from api.errors import ApiError
from schemas.errors import ErrorCode
from schemas.events import JobState
from schemas.settings import Settings, parse_pairs

log = logging.getLogger(__name__)

HASHED_PREFIX = "sha256:"
TENANT_STATE_KEY = "tenant"
API_KEY_QUERY_PARAM = "api_key"


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _hex_digest(text: str, tenant: str, what: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != hashlib.sha256().digest_size:
        raise ValueError(f"{what}: tenant {tenant!r} needs sha256: followed by 64 hex digits")
    return value


class KeyRing:
    """Configured keys as (digest, tenant); an empty ring means the API is open."""

    def __init__(self, entries: list[tuple[bytes, str]]) -> None:
        self._entries = entries

    @classmethod
    def parse(cls, secret: SecretStr | None, what: str) -> KeyRing:
        """`tenant:key` / `tenant:sha256:HEX` pairs from the setting named `what`."""
        raw = secret.get_secret_value() if secret else ""
        entries = []
        for tenant, value in parse_pairs(raw, what):
            if value.startswith(HASHED_PREFIX):
                entries.append((_hex_digest(value.removeprefix(HASHED_PREFIX), tenant, what), tenant))
            else:
                entries.append((digest(value), tenant))
        return cls(entries)

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        return cls.parse(settings.api_keys, "API_KEYS")

    @classmethod
    def internal(cls, settings: Settings) -> KeyRing:
        """The keys of the /internal routes: a ring of their own, so a public key never opens them."""
        return cls.parse(settings.internal_api_keys, "INTERNAL_API_KEYS")

    @property
    def open(self) -> bool:
        return not self._entries

    def tenant_for(self, key: str) -> str | None:
        presented = digest(key)
        found = None
        for stored, tenant in self._entries:
            if hmac.compare_digest(stored, presented) and found is None:
                found = tenant
        return found


def _bearer(headers: Any) -> str:
    scheme, _, credentials = str(headers.get("authorization", "")).partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def presented_key(headers: Any, query: Any = None) -> str | None:
    """The key from `Authorization: Bearer <key>`, `X-API-Key: <key>`, or (when a query is given:
    WebSockets, where browsers cannot set headers) `?api_key=<key>`. Two of them naming different
    keys are a 401: whichever one won, the request would act for a tenant it may not have meant."""
    given = [_bearer(headers), str(headers.get("x-api-key", "")).strip()]
    if query is not None:
        given.append(str(query.get(API_KEY_QUERY_PARAM) or "").strip())
    keys = {key for key in given if key}
    if len(keys) > 1:
        raise ApiError(
            ErrorCode.UNAUTHORIZED,
            "conflicting API keys: Authorization, X-API-Key and ?api_key= name different keys; send one key",
            {"reason": "conflicting keys"},
            headers={"WWW-Authenticate": 'Bearer realm="videogen"'},
        )
    return keys.pop() if keys else None


class Authenticator:
    """Resolves the tenant a request speaks for; a guard on the keyed routes. Rate limiting is
    a separate guard (api/ratelimit.py) that runs after this one."""

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys

    def tenant(self, key: str | None) -> str | None:
        """The key's tenant; None when the API is open; 401 for a missing or unknown key."""
        if self.keys.open:
            return None
        tenant = self.keys.tenant_for(key) if key else None
        if tenant is None:
            raise ApiError(
                ErrorCode.UNAUTHORIZED,
                "a valid API key is required: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                {"reason": "invalid key" if key else "no key"},
                headers={"WWW-Authenticate": 'Bearer realm="videogen"'},
            )
        return tenant

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        connection.state[TENANT_STATE_KEY] = self.tenant(presented_key(connection.headers))


class InternalAuthenticator:
    """The guard of /internal routes (service-to-service): closed (403) until INTERNAL_API_KEYS is
    set, then a request must present one of those keys (401 otherwise). Unlike /api/v1, an unset
    key list never means open: these routes start work on a caller's word alone."""

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys

    def tenant(self, key: str | None) -> str:
        if self.keys.open:
            raise ApiError(
                ErrorCode.FORBIDDEN,
                "internal routes are disabled: set INTERNAL_API_KEYS (tenant:key pairs) to enable them",
                {"setting": "INTERNAL_API_KEYS"},
            )
        tenant = self.keys.tenant_for(key) if key else None
        if tenant is None:
            raise ApiError(
                ErrorCode.UNAUTHORIZED,
                "a valid internal API key (INTERNAL_API_KEYS) is required: send it as "
                "'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                {"reason": "invalid key" if key else "no key"},
                headers={"WWW-Authenticate": 'Bearer realm="videogen-internal"'},
            )
        return tenant

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        connection.state[TENANT_STATE_KEY] = self.tenant(presented_key(connection.headers))


def tenant_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The tenant the Authenticator guard recorded (None when the API is open)."""
    tenant = connection.state.get(TENANT_STATE_KEY)
    return str(tenant) if tenant is not None else None


def current_tenant(request: Request[Any, Any, Any]) -> str | None:
    """The authenticated tenant; a dependency of the keyed routes."""
    return tenant_of(request)


def visible(job: JobState | None, tenant: str | None) -> JobState | None:
    """The job if this caller may see it: with keys configured, only its own tenant's jobs."""
    if job is None or tenant is None or job.tenant == tenant:
        return job
    return None


def warn_if_open(keys: KeyRing) -> None:
    if keys.open:
        log.warning("API_KEYS is not set: the API is open to anyone who can reach it")
