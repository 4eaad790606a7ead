"""ClickHouse's HTTP interface on the embedded store: the protocol handler's parts, then clickhouse-connect
against the store's app served over a temp chDB path, as an analyst's notebook would use it."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import clickhouse_connect
import httpx
import pytest
import uvicorn
from clickhouse_connect import common
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, ProgrammingError
from litestar import Request, Response

from analytics.chhttp import (
    READONLY,
    Access,
    ClickHouseHTTP,
    ClickHouseQuery,
    Limits,
    ReadOnlyEngine,
    ServerException,
    check_read_only,
    content_type,
    credentials,
    parse_request,
)
from analytics.client import DATABASE, ClickHouseClient
from analytics.server import Store, create_app
from tests.unit.test_analytics_store import history, load

# --- parsing -------------------------------------------------------------------------------------


def test_query_joins_the_url_and_the_body_and_splits_settings_from_the_http_layer() -> None:
    url = {
        "query": "SELECT {n:UInt8}",
        "database": "system",
        "default_format": "JSONEachRow",
        "session_id": "s1",
        "wait_end_of_query": "1",
        "query_id": "q1",
        "param_n": "7",
        "max_threads": "1",
        "date_time_input_format": "best_effort",
    }
    query = parse_request(url, {}, "+ 1", DATABASE)
    assert query.sql == "SELECT {n:UInt8}\n+ 1"
    assert (query.database, query.default_format, query.query_id) == ("system", "JSONEachRow", "q1")
    assert query.params == {"n": "7"}
    assert query.settings == {"max_threads": "1", "date_time_input_format": "best_effort"}


def test_a_form_carries_the_query_and_its_parameters() -> None:
    query = parse_request({"database": ""}, {"query": "SELECT {s:String}", "param_s": "x"}, "", DATABASE)
    assert (query.sql, query.params, query.database) == ("SELECT {s:String}", {"s": "x"}, DATABASE)
    assert query.default_format == "TabSeparated"


def test_a_setting_that_is_not_a_name_is_refused() -> None:
    with pytest.raises(ServerException) as caught:
        parse_request({"max_threads = 1; --": "1"}, {}, "SELECT 1", DATABASE)
    assert caught.value.code == 115 and caught.value.status == 404


def test_clickhouse_compressed_answers_are_refused_not_sent_plain() -> None:
    with pytest.raises(ServerException) as caught:
        parse_request({"compress": "1"}, {}, "SELECT 1", DATABASE)
    assert (caught.value.code, caught.value.status) == (48, 501)
    assert parse_request({"compress": "0"}, {}, "SELECT 1", DATABASE).sql == "SELECT 1"


def test_the_format_clause_wins_over_default_format() -> None:
    assert ClickHouseQuery("SELECT 1\n FORMAT Native", DATABASE).output_format == "Native"
    assert ClickHouseQuery("SELECT 'FORMAT CSV'", DATABASE, "JSON").output_format == "JSON"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  -- a note\n/* and another */ (SELECT 1)",
        "with 1 AS x SELECT x",
        "SHOW TABLES",
        "DESCRIBE TABLE jobs",
        "DESC jobs",
        "EXISTS jobs",
        "EXPLAIN SELECT 1",
        "SELECT 'a; INSERT INTO jobs' AS s;",
        "SELECT 'INTO OUTFILE' FORMAT CSV",
    ],
)
def test_reads_pass(sql: str) -> None:
    check_read_only(sql)


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("INSERT INTO jobs (job_id) VALUES ('x')", READONLY),
        ("/* SELECT */ DROP TABLE jobs", READONLY),
        ("SET readonly = 0", READONLY),
        ("KILL QUERY WHERE 1", READONLY),
        ("SELECT 1 INTO OUTFILE '/tmp/x.csv'", READONLY),
        ("SELECT 1; DROP TABLE jobs", 62),
        ("", READONLY),
    ],
)
def test_anything_else_is_refused_as_clickhouse_refuses_it(sql: str, code: int) -> None:
    with pytest.raises(ServerException) as caught:
        check_read_only(sql)
    assert caught.value.code == code
    assert caught.value.text.startswith(f"Code: {code}. DB::Exception: ")


def test_engine_errors_keep_their_code_and_map_to_clickhouse_statuses() -> None:
    unknown = ServerException.from_engine(RuntimeError("Code: 60. DB::Exception: No table. (UNKNOWN_TABLE)"))
    assert (unknown.code, unknown.status) == (60, 404)
    assert ServerException.from_engine(RuntimeError("boom")).code == 1001
    assert ServerException.of(READONLY, "no").status == 500
    assert ServerException.of(516, "who").status == 403
    assert ServerException.of(159, "slow").status == 408


def test_content_types_follow_the_format() -> None:
    assert content_type("Native") == "application/octet-stream"
    assert content_type("ArrowStream") == "application/octet-stream"
    assert content_type("JSONEachRow").startswith("application/x-ndjson")
    assert content_type("JSONCompact").startswith("application/json")
    assert content_type("CSVWithNames") == "text/csv"
    assert content_type("TSV") == "text/tab-separated-values"
    assert content_type("Pretty") == "text/plain"


def test_credentials_are_read_as_clickhouse_reads_them() -> None:
    basic = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert credentials({"authorization": basic}, {}) == ("alice", "s3cret")
    assert credentials({"x-clickhouse-user": "bob", "x-clickhouse-key": "k"}, {}) == ("bob", "k")
    assert credentials({}, {"user": "carol", "password": "p"}) == ("carol", "p")
    assert credentials({}, {}) == ("default", "")


def test_without_a_password_only_loopback_is_answered() -> None:
    open_access = Access("default", None)
    open_access.check({}, {}, "127.0.0.1")
    open_access.check({}, {}, "::1")
    with pytest.raises(ServerException) as caught:
        open_access.check({}, {}, "10.0.0.7")
    assert caught.value.code == 516


def test_with_a_password_the_user_and_password_must_match() -> None:
    access = Access("analyst", "s3cret")
    access.check({}, {"user": "analyst", "password": "s3cret"}, "10.0.0.7")
    for user, password in [("analyst", "wrong"), ("default", "s3cret"), ("analyst", "")]:
        with pytest.raises(ServerException):
            access.check({}, {"user": user, "password": password}, "127.0.0.1")


# --- the engine ----------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ClickHouseClient]:
    client = ClickHouseClient.open_embedded(tmp_path / "analytics")
    client.ensure_schema()
    load(client, history())
    yield client
    client.close()  # chDB opens one path per process: release it for the next test


def engine(path: Path, seconds: float = 10.0, size: int = 10**8) -> ReadOnlyEngine:
    return ReadOnlyEngine(path, Limits(max_seconds=seconds, max_result_bytes=size))


def test_the_engine_is_read_only_whatever_the_statement_says(store: ClickHouseClient, tmp_path: Path) -> None:
    ro = engine(tmp_path / "analytics")
    answer = ro.run(ClickHouseQuery("SELECT count() FROM finished_jobs", DATABASE))
    assert answer.body == b"4\n" and answer.output_format == "TabSeparated"
    assert int(answer.summary["read_rows"]) >= 1
    # past the statement check, the engine still refuses: a SETTINGS clause cannot lift readonly
    for sql in [
        "SELECT 1 SETTINGS readonly = 0",
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT * FROM url('http://127.0.0.1:9/x', 'LineAsString')",
    ]:
        with pytest.raises(ServerException) as caught:
            ro.run(ClickHouseQuery(sql, DATABASE))
        assert caught.value.code == READONLY
    # settings from the URL apply; a bound asked for above ours is ours
    names = "('max_threads', 'max_execution_time', 'max_result_bytes')"
    sql = f"SELECT name, value FROM system.settings WHERE name IN {names} ORDER BY name FORMAT CSV"
    asked = {"max_threads": "1", "max_execution_time": "999", "max_result_bytes": "12345"}
    assert ro.run(ClickHouseQuery(sql, DATABASE, settings=asked)).body == (
        b'"max_execution_time","10"\n"max_result_bytes","12345"\n"max_threads","1"\n'
    )
    unasked = ro.run(ClickHouseQuery(sql, DATABASE)).body
    assert b'"max_result_bytes","100000000"' in unasked and b'"max_execution_time","10"' in unasked


def test_the_engine_bounds_time_and_result_size(store: ClickHouseClient, tmp_path: Path) -> None:
    ro = engine(tmp_path / "analytics", seconds=0.5, size=1000)
    with pytest.raises(ServerException) as slow:
        ro.run(ClickHouseQuery("SELECT count() FROM numbers(100000000000)", DATABASE))
    assert (slow.value.code, slow.value.status) == (159, 408)
    with pytest.raises(ServerException) as large:
        ro.run(ClickHouseQuery("SELECT number FROM numbers(100000)", DATABASE))
    assert large.value.code == 396


# --- clickhouse-connect against the store's app ---------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Recording(ClickHouseHTTP):
    """The interface, noting each request's URL parameters, SQL and answer's status."""

    seen: list[tuple[dict[str, str], str, int | None]]

    async def answer(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        response = await super().answer(request)
        sql = (await request.body()).decode(errors="replace") or request.query_params.get("query", "")
        self.seen.append((dict(request.query_params), sql, response.status_code))
        return response


@pytest.fixture
def interface(tmp_path: Path) -> Recording:
    recording = Recording(engine(tmp_path / "analytics"), Access("default", None), DATABASE)
    recording.seen = []
    return recording


@pytest.fixture
def served(store: ClickHouseClient, interface: Recording) -> Iterator[str]:
    """The store's app (its own routes and ClickHouse's) on a free loopback port, as `serve` runs it."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(Store(store), interface), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the store's app did not start"
        time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def ch(served: str) -> Iterator[Client]:
    host, port = served.split(":")
    client = clickhouse_connect.get_client(host=host, port=int(port))
    yield client
    client.close()


def test_what_clickhouse_connect_sends_at_connect_is_answered(ch: Client, interface: Recording) -> None:
    handshake = [(sql.split("\n")[0], status) for _, sql, status in interface.seen]
    assert handshake == [
        ("SELECT version(), timezone()", 200),
        ("SELECT name, value, readonly FROM system.settings LIMIT 10000", 200),
        ("SELECT 1 AS check", 200),
    ]
    assert interface.seen[2][0]["client_protocol_version"]  # ignored: Native stays protocol 0
    ch.query("SELECT 1")
    params, sql, _ = interface.seen[-1]
    assert sql == "SELECT 1\n FORMAT Native"
    assert {"session_id", "wait_end_of_query", "query_id"} <= params.keys()


def test_clickhouse_connect_connects_and_queries_in_its_formats(ch: Client) -> None:
    assert (ch.server_version or "").count(".") == 3
    result = ch.query("SELECT job_id, status, finished_at FROM finished_jobs ORDER BY job_id")  # Native
    assert result.column_names == ("job_id", "status", "finished_at")
    assert [row[:2] for row in result.result_rows] == [
        ("vg_a", "completed"),
        ("vg_b", "completed"),
        ("vg_bad", "failed"),
        ("vg_cancel", "cancelled"),
    ]
    assert result.summary["query_id"]
    frame = ch.query_df("SELECT job_id, processing_seconds FROM finished_jobs WHERE status = 'completed'")
    assert sorted(frame["processing_seconds"].tolist()) == [12.0, 20.0]
    table = ch.query_arrow("SELECT job_id FROM finished_jobs ORDER BY job_id")
    assert table.column("job_id").to_pylist() == ["vg_a", "vg_b", "vg_bad", "vg_cancel"]
    assert ch.command("SELECT count() FROM stages WHERE stage = 'render'") == 3
    stages = ch.query("SELECT DISTINCT stage FROM stage_transitions ORDER BY stage")  # LowCardinality
    assert stages.result_columns[0][:2] == ["accepted", "fetch"]
    sql = "SELECT job_id, status FROM finished_jobs WHERE job_id = 'vg_bad'"
    assert ch.raw_query(sql, fmt="JSONEachRow") == b'{"job_id":"vg_bad","status":"failed"}\n'
    assert ch.raw_query(sql, fmt="CSV") == b'"vg_bad","failed"\n'
    assert ch.raw_query(sql, fmt="TabSeparated") == b"vg_bad\tfailed\n"


def test_parameters_bind_on_the_server_and_in_the_client(ch: Client) -> None:
    server_side = ch.query(
        "SELECT count() FROM finished_jobs WHERE status = {status:String} AND job_id != {quote:String}",
        parameters={"status": "completed", "quote": "it's \\ {odd}"},
    )
    assert server_side.result_rows == [(2,)]
    client_side = ch.query(
        "SELECT count() FROM finished_jobs WHERE job_id IN %(ids)s", parameters={"ids": ["vg_a", "x'y"]}
    )
    assert client_side.result_rows == [(1,)]


def test_errors_and_writes_raise_database_error_with_clickhouse_codes(ch: Client) -> None:
    with pytest.raises(DatabaseError) as unknown:
        ch.query("SELECT nope FROM finished_jobs")
    assert unknown.value.code == 47 and "UNKNOWN_IDENTIFIER" in str(unknown.value)
    with pytest.raises(DatabaseError) as refused:
        ch.command("INSERT INTO jobs (job_id) VALUES ('vg_new')")
    assert refused.value.code == READONLY
    with pytest.raises(DatabaseError) as insert:
        ch.insert("jobs", [["vg_new"]], column_names=["job_id"])
    assert insert.value.code == READONLY
    assert ch.command("SELECT count() FROM jobs WHERE job_id = 'vg_new'") == 0


def test_settings_apply_once_the_client_sends_them(ch: Client) -> None:
    """The store reports every setting readonly (it runs queries under readonly=1), so clickhouse-connect
    refuses per-query settings, as for a readonly user of a server; told to send them, they apply."""
    sql = "SELECT value FROM system.settings WHERE name = 'max_threads'"
    with pytest.raises(ProgrammingError):
        ch.query(sql, settings={"max_threads": 1})
    common.set_setting("invalid_setting_action", "send")
    try:
        assert ch.command(sql, settings={"max_threads": 1}) == 1
    finally:
        common.set_setting("invalid_setting_action", "error")


def test_plain_http_as_curl_and_grafana_send_it(served: str) -> None:
    base = f"http://{served}"
    assert httpx.get(f"{base}/ping").text == "Ok.\n"
    assert httpx.get(f"{base}/").text == "Ok.\n"
    answer = httpx.get(f"{base}/", params={"query": "SELECT 1 AS one FORMAT JSONEachRow", "query_id": "q-7"})
    assert answer.status_code == 200 and answer.json() == {"one": 1}
    assert answer.headers["x-clickhouse-query-id"] == "q-7"
    assert answer.headers["x-clickhouse-format"] == "JSONEachRow"
    assert answer.headers["x-clickhouse-timezone"]
    assert answer.headers["x-clickhouse-server-display-name"]
    assert '"read_rows"' in answer.headers["x-clickhouse-summary"]
    posted = httpx.post(f"{base}/?database=system&default_format=CSV", content="SELECT dummy, 'a' FROM one")
    assert posted.status_code == 200 and posted.text == '0,"a"\n'
    failed = httpx.post(f"{base}/", content="INSERT INTO jobs (job_id) VALUES ('x')")
    assert failed.status_code == 500 and failed.headers["x-clickhouse-exception-code"] == str(READONLY)
    assert failed.text.startswith("Code: 164. DB::Exception:") and "(READONLY)" in failed.text
    assert httpx.get(f"{base}/health").json() == {"status": "healthy"}  # the store's own routes stay
