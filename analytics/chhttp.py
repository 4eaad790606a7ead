"""ClickHouse's HTTP interface on the embedded store, read-only.

The store's own routes (/insert, /query) serve videogen's processes. Analysts' tools (clickhouse-connect,
DBeaver, Grafana's ClickHouse data source over HTTP, curl) speak ClickHouse's HTTP protocol, answered
here on the same port: `GET|POST /` with the query in the URL, the body or a form, `database`,
`default_format`, settings and `param_<name>` as URL (or form) parameters, the `X-ClickHouse-*` headers,
errors as ClickHouse writes them (`Code: N. DB::Exception: ...` and `X-ClickHouse-Exception-Code`) and
`/ping`.

Each request runs on its own chDB connection to the engine the store opened, so no session state is
kept (`session_id` is accepted and ignored): the caller's settings are applied first, then the bounds
(`max_execution_time`, `max_result_bytes`) and `readonly=1` last, so neither a URL parameter nor a
`SETTINGS` clause can write, read files or URLs, or lift a bound. The store then behaves as a ClickHouse
server does for a `readonly=1` user. Statements are also checked before they run: only reads, one at a
time, and no `INTO OUTFILE` (which chDB, being clickhouse-local, would write).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chdb
from litestar import HttpMethod, Request, Response, get, route
from litestar.handlers import HTTPRouteHandler

from schemas.settings import Settings

READONLY = 164
SYNTAX_ERROR = 62
AUTHENTICATION_FAILED = 516
UNKNOWN_SETTING = 115
NOT_IMPLEMENTED = 48
STD_EXCEPTION = 1001
_NAMES = {
    NOT_IMPLEMENTED: "NOT_IMPLEMENTED",
    SYNTAX_ERROR: "SYNTAX_ERROR",
    UNKNOWN_SETTING: "UNKNOWN_SETTING",
    READONLY: "READONLY",
    AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
    STD_EXCEPTION: "STD_EXCEPTION",
}

# ClickHouse's own mapping of error codes to HTTP statuses (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp),
# for the codes chDB raises on reads; anything else is 500.
_STATUS = {194: 401} | dict.fromkeys((192, 193, 516, 497), 403)
_STATUS |= dict.fromkeys((6, 8, 27, 36, 38, 41, 44, 53, 62, 72, 117, 321, 427), 400)
_STATUS |= dict.fromkeys((46, 47, 50, 56, 60, 63, 73, 81, 115), 404)
_STATUS |= {48: 501, 159: 408}

# URL parameters ClickHouse's HTTP layer consumes itself: they are not settings to apply.
TRANSPORT_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "query_id",
        "quota_key",
        "session_id",
        "session_timeout",
        "session_check",
        "compress",
        "decompress",
        "buffer_size",
        "wait_end_of_query",
        "client_protocol_version",
        "stacktrace",
        "role",
        "enable_http_compression",
        "http_zlib_compression_level",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "cancel_http_readonly_queries_on_client_close",
        "readonly",
    }
)
READ_STATEMENTS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN"})

_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# String literals, quoted identifiers and comments: what a keyword check must not look inside.
_NOT_CODE = re.compile(
    r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.)*\"|`(?:[^`\\]|\\.)*`|--[^\n]*|#[^\n]*|/\*.*?\*/", re.S
)
_FIRST_WORD = re.compile(r"^[\s(]*([A-Za-z]+)")
_INTO_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.I)
_FORMAT_CLAUSE = re.compile(r"\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", re.I)
_ERROR_CODE = re.compile(r"Code: (\d+)\.")
_BINARY_FORMATS = ("Native", "RowBinary", "Arrow", "Parquet", "ORC", "Avro", "MsgPack", "Protobuf")


class ServerException(Exception):
    """An error answered as ClickHouse answers it: `Code: N. DB::Exception: ... (NAME)`."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text

    @classmethod
    def of(cls, code: int, message: str) -> ServerException:
        return cls(code, f"Code: {code}. DB::Exception: {message}. ({_NAMES.get(code, 'UNKNOWN')})")

    @classmethod
    def from_engine(cls, exc: Exception) -> ServerException:
        """chDB's errors read as ClickHouse's already: `Code: 47. DB::Exception: ... (UNKNOWN_IDENTIFIER)`."""
        text = str(exc).strip()
        start = text.find("Code: ")
        text = text[start:] if start > 0 else text
        match = _ERROR_CODE.match(text)
        if match is None:
            return cls.of(STD_EXCEPTION, text)
        return cls(int(match.group(1)), text)

    @property
    def status(self) -> int:
        return _STATUS.get(self.code, 500)


@dataclass(frozen=True)
class ClickHouseQuery:
    """One request to the interface, as ClickHouse's HTTP handler reads it."""

    sql: str
    database: str
    default_format: str = "TabSeparated"
    settings: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    query_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def output_format(self) -> str:
        """The FORMAT clause's format, else `default_format` (what chDB writes, and the header says)."""
        match = _FORMAT_CLAUSE.search(code_only(self.sql))
        return match.group(1) if match else self.default_format


@dataclass(frozen=True)
class Answer:
    body: bytes
    output_format: str
    summary: dict[str, str]


def code_only(sql: str) -> str:
    """The SQL with string literals, quoted identifiers and comments blanked out."""
    return _NOT_CODE.sub(" ", sql)


def parse_request(
    url_params: Mapping[str, str], form: Mapping[str, str], body: str, default_database: str
) -> ClickHouseQuery:
    """The query is the URL's `query`, then the body (ClickHouse joins the two with a newline), or a
    form's `query` field; `param_<name>` may come from the URL or the form; every other URL parameter
    that is not part of the HTTP layer is a setting."""
    parts = [url_params.get("query", ""), form.get("query", "") if form else body]
    sql = "\n".join(part for part in parts if part).strip()
    params = {k[6:]: v for k, v in (*url_params.items(), *form.items()) if k.startswith("param_")}
    settings = {
        k: v for k, v in url_params.items() if k not in TRANSPORT_PARAMS and not k.startswith("param_")
    }
    if url_params.get("compress", "0") not in ("", "0", "false"):
        # ClickHouse's own block compression (CityHash128 checksums): a client expecting it could not
        # read a plain answer, so say so rather than send one
        raise ServerException.of(
            NOT_IMPLEMENTED,
            "compress=1 (ClickHouse-compressed answers) is not supported by the embedded analytics store: "
            "turn the client's compression off, or use HTTP compression (Accept-Encoding)",
        )
    for name in settings:
        if not _SETTING_NAME.match(name):
            raise ServerException.of(UNKNOWN_SETTING, f"Unknown setting '{name}'")
    return ClickHouseQuery(
        sql=sql,
        database=url_params.get("database") or default_database,
        default_format=url_params.get("default_format") or "TabSeparated",
        settings=settings,
        params=params,
        query_id=url_params.get("query_id") or str(uuid.uuid4()),
    )


def check_read_only(sql: str) -> None:
    """Refuse what is not a single read before it reaches the engine (which refuses writes itself, under
    `readonly=1`, except `INTO OUTFILE`: chDB is clickhouse-local and would write the file)."""
    code = code_only(sql).strip().rstrip(";")
    if ";" in code:
        raise ServerException.of(SYNTAX_ERROR, "Multi-statements are not allowed")
    match = _FIRST_WORD.match(code)
    kind = match.group(1).upper() if match else ""
    if kind not in READ_STATEMENTS or _INTO_OUTFILE.search(code):
        raise ServerException.of(
            READONLY,
            "default: Cannot execute query in readonly mode: the embedded analytics store answers reads "
            "(SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN); writes go through the analytics sink",
        )


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def content_type(fmt: str) -> str:
    """Content-Type as ClickHouse sends it for an output format."""
    if fmt.startswith(_BINARY_FORMATS):
        return "application/octet-stream"
    if (fmt.startswith("JSON") and "EachRow" in fmt) or fmt.startswith("JSONLines"):
        return "application/x-ndjson; charset=UTF-8"
    if fmt.startswith("JSON"):
        return "application/json; charset=UTF-8"
    if fmt.startswith("CSV"):
        return "text/csv"  # text types: Litestar appends the charset
    if fmt.startswith(("TabSeparated", "TSV")):
        return "text/tab-separated-values"
    return "text/plain"


@dataclass(frozen=True)
class Limits:
    max_seconds: float
    max_result_bytes: int


class ReadOnlyEngine:
    """Read-only queries on the chDB engine the store opened, each on a connection of its own."""

    def __init__(self, path: Path, limits: Limits, concurrency: int = 2) -> None:
        # chDB compares engine paths literally: the spelling clickhouse-connect opened it with
        self._path = os.path.realpath(path)
        self._limits = limits
        self._slots = threading.BoundedSemaphore(concurrency)
        conn = chdb.connect(self._path)
        try:
            version, zone = conn.query("SELECT version(), timezone()", "TabSeparated").bytes().split(b"\t")
        finally:
            conn.close()
        self.version = version.decode()
        self.timezone = zone.decode().strip()

    def _bounds(self, settings: Mapping[str, str]) -> str:
        """The caller's bounds where tighter than ours, then readonly (which no later SET can lift)."""

        def tightest(name: str, ours: float) -> float:
            try:
                theirs = float(settings.get(name, "0"))
            except ValueError:
                theirs = 0
            return theirs if 0 < theirs < ours else ours

        seconds = tightest("max_execution_time", self._limits.max_seconds)
        size = int(tightest("max_result_bytes", self._limits.max_result_bytes))
        return (
            f"SET max_execution_time = {seconds}, timeout_overflow_mode = 'throw', "
            f"max_result_bytes = {size}, result_overflow_mode = 'throw', readonly = 1"
        )

    def run(self, query: ClickHouseQuery) -> Answer:
        check_read_only(query.sql)
        started = time.perf_counter()
        with self._slots:
            conn = chdb.connect(self._path)
            try:
                conn.query(f"USE {_identifier(query.database)}", "TabSeparated")
                for name, value in query.settings.items():
                    conn.query(f"SET {name} = {_quote(value)}", "TabSeparated")
                conn.query(self._bounds(query.settings), "TabSeparated")
                result = conn.query(query.sql, query.default_format, params=query.params)
            except Exception as exc:
                raise ServerException.from_engine(exc) from exc
            finally:
                conn.close()
        body = result.bytes()
        summary = {
            "read_rows": str(result.rows_read()),
            "read_bytes": str(result.bytes_read()),
            "written_rows": "0",
            "written_bytes": "0",
            "total_rows_to_read": str(result.rows_read()),
            "result_bytes": str(len(body)),
            "elapsed_ns": str(int((time.perf_counter() - started) * 1e9)),
        }
        return Answer(body, query.output_format, summary)


@dataclass(frozen=True)
class Access:
    """Who may query: anyone on loopback without a password, anyone with it when one is set."""

    user: str
    password: str | None

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        secret = settings.clickhouse_http_password
        return cls(settings.clickhouse_http_user, secret.get_secret_value() if secret else None)

    def check(self, headers: Mapping[str, str], url_params: Mapping[str, str], client_host: str) -> None:
        user, password = credentials(headers, url_params)
        if self.password is None:
            if not _loopback(client_host):
                raise ServerException.of(
                    AUTHENTICATION_FAILED,
                    f"{user}: Authentication failed: set CLICKHOUSE_HTTP_PASSWORD to query the embedded "
                    "analytics store from another host",
                )
            return
        same_user = hmac.compare_digest(user.encode(), self.user.encode())
        if not (hmac.compare_digest(password.encode(), self.password.encode()) and same_user):
            raise ServerException.of(
                AUTHENTICATION_FAILED,
                f"{user}: Authentication failed: password is incorrect, or there is no user with such name",
            )


def credentials(headers: Mapping[str, str], url_params: Mapping[str, str]) -> tuple[str, str]:
    """User and password the ways ClickHouse takes them: basic auth, X-ClickHouse-User/Key, URL."""
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        return user or "default", password
    user = headers.get("x-clickhouse-user") or url_params.get("user") or "default"
    return user, headers.get("x-clickhouse-key") or url_params.get("password") or ""


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")


@dataclass
class ClickHouseHTTP:
    """The interface's state: the engine, who may use it, and the database queries start in."""

    engine: ReadOnlyEngine
    access: Access
    database: str
    display_name: str = field(default_factory=socket.gethostname)

    def headers(self, query_id: str, timezone: str) -> dict[str, str]:
        return {
            "X-ClickHouse-Server-Display-Name": self.display_name,
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": timezone,
        }

    def error(self, exc: ServerException, query_id: str) -> Response[bytes]:
        headers = self.headers(query_id, self.engine.timezone)
        headers["X-ClickHouse-Exception-Code"] = str(exc.code)
        body = f"{exc.text} (version {self.engine.version})\n".encode()
        return Response(body, status_code=exc.status, media_type="text/plain", headers=headers)

    async def answer(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        url_params = {k: v for k, v in request.query_params.items()}
        query_id = url_params.get("query_id") or str(uuid.uuid4())
        try:
            self.access.check(request.headers, url_params, request.client.host if request.client else "")
            form: dict[str, str] = {}
            body = ""
            if request.content_type[0] in ("multipart/form-data", "application/x-www-form-urlencoded"):
                form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
            else:
                # a compressed INSERT's body is not text: it reads as no statement, and is refused as one
                body = (await request.body()).decode(errors="replace")
            query = parse_request(url_params | {"query_id": query_id}, form, body, self.database)
            if not query.sql:
                return Response(b"Ok.\n", media_type="text/plain", status_code=200)
            answer = await asyncio.to_thread(self.engine.run, query)
        except ServerException as exc:
            return self.error(exc, query_id)
        headers = self.headers(query_id, query.settings.get("session_timezone") or self.engine.timezone)
        headers["X-ClickHouse-Format"] = answer.output_format
        headers["X-ClickHouse-Summary"] = json.dumps(answer.summary, separators=(",", ":"))
        return Response(
            answer.body, media_type=content_type(answer.output_format), headers=headers, status_code=200
        )


def clickhouse_routes(interface: ClickHouseHTTP) -> list[HTTPRouteHandler]:
    """`GET|POST /` and `GET /ping`, for the store's app."""

    @route("/", http_method=[HttpMethod.GET, HttpMethod.POST], include_in_schema=False)
    async def clickhouse(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await interface.answer(request)

    @get("/ping", include_in_schema=False)
    async def ping() -> Response[bytes]:
        return Response(b"Ok.\n", media_type="text/plain")

    return [clickhouse, ping]
