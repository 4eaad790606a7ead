"""`videogen analytics serve`: the one process that opens the embedded chDB path.

chDB allows a single process per data path, so with no CLICKHOUSE_URL this small service owns it:
it migrates the schema at start and serves inserts from the workers and queries from the CLI and the
estimator. It binds to ANALYTICS_HOST (loopback by default): /insert and /query run any SQL they are
sent. On the same port it answers ClickHouse's HTTP protocol, read-only, for analysts' tools
(analytics/chhttp.py).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Annotated, Any

import orjson
from litestar import Litestar, MediaType, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import Body
from pydantic import BaseModel, Field

from analytics.chhttp import Access, ClickHouseHTTP, Limits, ReadOnlyEngine, clickhouse_routes
from analytics.client import DATABASE, ClickHouseClient, embedded_path
from schemas.settings import Settings

log = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InsertBody(BaseModel):
    table: str = Field(pattern=_IDENTIFIER.pattern)
    rows: list[dict[str, Any]]


class QueryBody(BaseModel):
    sql: str


class Store:
    """The chDB client plus a lock: one statement at a time on the embedded engine."""

    def __init__(self, client: ClickHouseClient) -> None:
        self.client = client
        self.lock = threading.Lock()


def _json(body: object, status_code: int = 200) -> Response[bytes]:
    """JSON with values the way clickhouse-connect prints them (`2026-01-31 12:00:00`, Decimals as text),
    so `videogen analytics query` shows the same whether it reaches chDB or ClickHouse."""
    content = orjson.dumps(body, default=str, option=orjson.OPT_PASSTHROUGH_DATETIME)
    return Response(content, media_type=MediaType.JSON, status_code=status_code)


def create_app(store: Store, clickhouse: ClickHouseHTTP | None = None) -> Litestar:
    @get("/health", sync_to_thread=True)
    def health() -> Response[bytes]:
        with store.lock:
            ok = store.client.ping()
        return _json({"status": "healthy" if ok else "unhealthy"}, 200 if ok else 503)

    @post("/insert", sync_to_thread=True)
    def insert(data: Annotated[InsertBody, Body()]) -> Response[bytes]:
        try:
            with store.lock:
                store.client.insert(data.table, data.rows)
        except Exception as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return _json({"inserted": len(data.rows)})

    @post("/query", sync_to_thread=True)
    def query(data: Annotated[QueryBody, Body()]) -> Response[bytes]:
        try:
            with store.lock:
                result = store.client.query(data.sql)
        except Exception as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return _json({"columns": result.columns, "rows": result.rows})

    def error_body(_: Any, exc: HTTPException) -> Response[bytes]:
        return _json({"error": exc.detail}, exc.status_code)

    return Litestar(
        [health, insert, query, *(clickhouse_routes(clickhouse) if clickhouse else [])],
        exception_handlers={HTTPException: error_body},
        logging_config=None,  # the process's JSON handler (streams.jsonlog) stays in charge
    )


def open_store(settings: Settings) -> Store:
    """Open the chDB path and bring its schema up to date."""
    client = ClickHouseClient.open_embedded(embedded_path(settings))
    client.ensure_schema()
    return Store(client)


def clickhouse_interface(settings: Settings) -> ClickHouseHTTP:
    """ClickHouse's HTTP protocol on the store's engine (opened by `open_store` first)."""
    limits = Limits(settings.clickhouse_http_max_seconds, settings.clickhouse_http_max_result_bytes)
    return ClickHouseHTTP(
        ReadOnlyEngine(embedded_path(settings), limits), Access.from_settings(settings), DATABASE
    )


def serve(settings: Settings) -> None:
    import uvicorn

    store = open_store(settings)
    log.info("analytics store at %s", embedded_path(settings).resolve())
    try:
        uvicorn.run(
            create_app(store, clickhouse_interface(settings)),
            host=settings.analytics_host,
            port=settings.analytics_port,
            log_config=None,
            access_log=False,
        )
    finally:
        store.client.close()
