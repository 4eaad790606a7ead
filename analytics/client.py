"""One analytics client, whatever holds the data, so every caller runs the same SQL.

- `CLICKHOUSE_URL` set: `ClickHouseClient` talks to the server with clickhouse-connect.
- Unset: the data sits in an embedded chDB under DATA_DIR, and chDB lets one process open a path.
  That process is `videogen analytics serve` (analytics/server.py, itself a `ClickHouseClient` on
  chDB); everyone else is a `StoreClient` speaking its small JSON API.

The clients are synchronous (clickhouse-connect and chDB are); async callers go through `call_async`,
which bounds the wait so a slow store never holds up a request or the pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import clickhouse_connect
import httpx
import orjson
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from analytics.migrate import migrate
from schemas.settings import Settings

DATABASE = "videogen"
T = TypeVar("T")
log = logging.getLogger(__name__)
_store_request: ContextVar[bool] = ContextVar("analytics_store_request", default=False)


class _StoreRequestsAtDebug(logging.Filter):
    """httpx logs every request at INFO, which for the store's API is a line per insert batch and per
    health ping: those lines are logged at DEBUG instead (failures still surface as AnalyticsError)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not _store_request.get():
            return True
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s", record.getMessage())
        return False


logging.getLogger("httpx").addFilter(_StoreRequestsAtDebug())


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    token = _store_request.set(True)
    try:
        yield
    finally:
        _store_request.reset(token)


class AnalyticsError(RuntimeError):
    """The store refused a statement or could not be reached."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]


class AnalyticsClient(Protocol):
    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows (JSON-ready dicts; missing columns take their defaults)."""

    def query(self, sql: str) -> QueryResult: ...

    def ping(self) -> bool:
        """True when the store answers a trivial query."""

    def ensure_schema(self) -> None:
        """Apply pending migrations (a no-op for the embedded store: its server migrates at start)."""

    def close(self) -> None: ...


def json_rows(rows: Sequence[Mapping[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(row) for row in rows)


class ClickHouseClient:
    """clickhouse-connect on a ClickHouse server or on a chDB path (then only in its owner process)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @classmethod
    def connect(cls, url: str, timeout: float) -> ClickHouseClient:
        """A server client; the database is the URL's path (`http://user:pass@host:8123/videogen`)."""
        try:
            return cls(
                clickhouse_connect.get_client(
                    dsn=url,
                    connect_timeout=timeout,
                    send_receive_timeout=timeout,
                    autogenerate_session_id=False,
                )
            )
        except ClickHouseError as exc:
            raise AnalyticsError(f"ClickHouse unreachable: {exc}") from exc

    @classmethod
    def open_embedded(cls, path: Path) -> ClickHouseClient:
        """Open (creating if need be) the chDB store at `path` with the videogen database selected."""
        path.mkdir(parents=True, exist_ok=True)
        dsn = f"chdb://{path.resolve()}"
        boot = clickhouse_connect.get_client(dsn=dsn)
        try:
            boot.command(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
            return cls(clickhouse_connect.get_client(dsn=dsn, database=DATABASE))
        finally:
            boot.close()

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            try:
                self._client.raw_insert(table, None, json_rows(rows), fmt="JSONEachRow")
            except ClickHouseError as exc:
                raise AnalyticsError(str(exc)) from exc

    def query(self, sql: str) -> QueryResult:
        try:
            result = self._client.query(sql)
        except ClickHouseError as exc:
            raise AnalyticsError(str(exc)) from exc
        return QueryResult(list(result.column_names), [list(row) for row in result.result_rows])

    def command(self, sql: str) -> None:
        self._client.command(sql)

    def query_rows(self, sql: str) -> list[tuple[object, ...]]:
        return [tuple(row) for row in self._client.query(sql).result_rows]

    def ping(self) -> bool:
        try:
            return self._client.command("SELECT 1") == 1
        except Exception:
            return False

    def ensure_schema(self) -> None:
        migrate(self)

    def close(self) -> None:
        self._client.close()


class StoreClient:
    """The JSON API of `videogen analytics serve`, the owner of the embedded chDB path."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            with _quiet():
                response = self._http.post(
                    path, content=orjson.dumps(body), headers={"content-type": "application/json"}
                )
        except httpx.HTTPError as exc:
            raise AnalyticsError(f"analytics store at {self.base_url} unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise AnalyticsError(_error_text(response))
        return response.json()

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._post("/insert", {"table": table, "rows": list(rows)})

    def query(self, sql: str) -> QueryResult:
        body = self._post("/query", {"sql": sql})
        return QueryResult(body["columns"], body["rows"])

    def ping(self) -> bool:
        try:
            with _quiet():
                return self._http.get("/health").status_code == 200
        except httpx.HTTPError:
            return False

    def ensure_schema(self) -> None:
        if not self.ping():
            raise AnalyticsError(f"analytics store at {self.base_url} is not answering")

    def close(self) -> None:
        self._http.close()


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return f"analytics store answered {response.status_code}"


def store_url(settings: Settings) -> str:
    return f"http://{settings.analytics_host}:{settings.analytics_port}"


def embedded_path(settings: Settings) -> Path:
    return settings.data_dir / "analytics"


def client_from_settings(settings: Settings) -> AnalyticsClient:
    """ClickHouse when CLICKHOUSE_URL is set, else the embedded store's server."""
    if settings.clickhouse_url:
        return ClickHouseClient.connect(settings.clickhouse_url, settings.analytics_timeout_seconds)
    return StoreClient(store_url(settings), settings.analytics_timeout_seconds)


async def call_async(func: Callable[..., T], *args: Any, timeout: float) -> T:
    """Run a blocking client call in a thread, giving up after `timeout` seconds.

    The thread may outlive the wait (it ends with its own socket timeout); an insert that was
    abandoned but did land is harmless, as the tables dedupe."""
    return await asyncio.wait_for(asyncio.to_thread(func, *args), timeout)
