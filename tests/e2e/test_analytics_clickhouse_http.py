"""clickhouse-connect against the embedded store as `videogen up` starts it: `videogen analytics serve`
on its port, rows written through the store's own API (the sink's path), read back as from a ClickHouse
server, with a password set so the store also answers what is not on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from analytics.client import StoreClient
from analytics.rows import rows_for
from deploy.embedded import port_open
from tests.e2e.conftest import free_port
from tests.e2e.test_analytics_e2e import stop, wait_for
from tests.unit.test_analytics_store import THRESHOLD, history

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "analyst-s3cret"


@pytest.fixture(scope="module")
def store_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    data_dir = tmp_path_factory.mktemp("analytics-clickhouse-http")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CLICKHOUSE", "ANALYTICS_"))},
        "DATA_DIR": str(data_dir),
        "ANALYTICS_PORT": str(port),
        "CLICKHOUSE_HTTP_USER": "analyst",
        "CLICKHOUSE_HTTP_PASSWORD": PASSWORD,
    }
    with (data_dir / "analytics.log").open("ab") as out:
        store = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "analytics", "serve"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for("the analytics store", lambda: port_open("127.0.0.1", port), store)
        sink = StoreClient(f"http://127.0.0.1:{port}", timeout=10)
        try:
            batches: dict[str, list[dict[str, object]]] = {}
            for event in history():
                for table, row in rows_for(event, THRESHOLD):
                    batches.setdefault(table, []).append(row)
            for table, rows in batches.items():
                sink.insert(table, rows)
        finally:
            sink.close()
        yield port
    finally:
        stop(store)


@pytest.fixture
def ch(store_port: int) -> Iterator[Client]:
    client = clickhouse_connect.get_client(
        host="127.0.0.1", port=store_port, username="analyst", password=PASSWORD
    )
    yield client
    client.close()


def test_clickhouse_connect_reads_what_the_sink_wrote(ch: Client) -> None:
    result = ch.query("SELECT job_id, status FROM finished_jobs ORDER BY job_id")
    assert result.result_rows == [
        ("vg_a", "completed"),
        ("vg_b", "completed"),
        ("vg_bad", "failed"),
        ("vg_cancel", "cancelled"),
    ]
    frame = ch.query_df("SELECT stage, count() AS n FROM stages GROUP BY stage ORDER BY stage")
    assert dict(zip(frame["stage"], frame["n"], strict=True))["render"] == 3
    arrow = ch.query_arrow(
        "SELECT job_id FROM finished_jobs WHERE status = {s:String}", parameters={"s": "failed"}
    )
    assert arrow.column("job_id").to_pylist() == ["vg_bad"]
    for fmt, expected in [("JSONEachRow", b'{"n":4}\n'), ("CSV", b"4\n"), ("TabSeparated", b"4\n")]:
        assert ch.raw_query("SELECT count() AS n FROM finished_jobs", fmt=fmt) == expected


def test_errors_writes_and_wrong_passwords_raise_database_error(ch: Client, store_port: int) -> None:
    with pytest.raises(DatabaseError) as unknown:
        ch.query("SELECT * FROM no_such_table")
    assert unknown.value.code == 60
    with pytest.raises(DatabaseError) as write:
        ch.command("ALTER TABLE jobs DELETE WHERE 1")
    assert write.value.code == 164
    assert ch.command("SELECT count() FROM finished_jobs") == 4
    with pytest.raises(DatabaseError) as denied:
        clickhouse_connect.get_client(host="127.0.0.1", port=store_port, username="analyst", password="no")
    assert denied.value.code == 516
