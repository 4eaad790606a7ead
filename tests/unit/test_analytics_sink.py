"""The batching sink: batches, a bounded buffer, retries while the store is down, never blocking."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from analytics.client import AnalyticsError, QueryResult, StoreClient
from analytics.sink import AnalyticsSink


class FakeStore:
    """Records inserts; fails them while `down` is set."""

    def __init__(self) -> None:
        self.down = False
        self.inserts: list[tuple[str, list[Mapping[str, Any]]]] = []
        self.connects = 0
        self.calls = 0
        self.released = threading.Event()
        self.released.set()

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        self.calls += 1
        self.released.wait()
        if self.down:
            raise AnalyticsError("store down")
        self.inserts.append((table, list(rows)))

    def query(self, sql: str) -> QueryResult:
        raise NotImplementedError

    def ping(self) -> bool:
        return not self.down

    def ensure_schema(self) -> None:
        pass

    def close(self) -> None:
        pass

    def rows(self, table: str) -> list[int]:
        return [row["n"] for t, rows in self.inserts if t == table for row in rows]


def make_sink(
    store: FakeStore,
    *,
    batch_size: int = 3,
    buffer_max: int = 10,
    timeout: float = 5,
    flush_seconds: float = 3600,
) -> AnalyticsSink:
    def connect() -> FakeStore:
        store.connects += 1
        return store

    return AnalyticsSink(
        connect, batch_size=batch_size, flush_seconds=flush_seconds, buffer_max=buffer_max, timeout=timeout
    )


async def test_flush_inserts_in_batches_grouped_by_table() -> None:
    store = FakeStore()
    sink = make_sink(store)
    for n in range(4):
        sink.add("a" if n % 2 == 0 else "b", {"n": n})
    assert await sink.flush()
    assert [(t, [r["n"] for r in rows]) for t, rows in store.inserts] == [
        ("a", [0, 2]),
        ("b", [1]),
        ("b", [3]),
    ]
    assert sink.pending == 0 and sink.inserted == 4


async def test_rows_wait_while_the_store_is_down_and_arrive_once_it_is_back() -> None:
    store = FakeStore()
    store.down = True
    sink = make_sink(store)
    for n in range(5):
        sink.add("a", {"n": n})
    assert not await sink.flush()
    assert sink.pending == 5 and store.inserts == []
    store.down = False
    assert await sink.flush()
    assert store.rows("a") == [0, 1, 2, 3, 4]
    assert store.connects == 2  # a failed client is dropped and reopened


async def test_a_full_buffer_drops_the_oldest_rows_and_counts_them() -> None:
    store = FakeStore()
    store.down = True
    sink = make_sink(store, buffer_max=4)
    for n in range(7):
        sink.add("a", {"n": n})
    assert sink.dropped == 3 and sink.pending == 4
    store.down = False
    assert await sink.flush()
    assert store.rows("a") == [3, 4, 5, 6]


async def test_a_full_batch_wakes_the_flusher_before_the_interval() -> None:
    store = FakeStore()
    sink = make_sink(store, batch_size=2)
    runner = asyncio.create_task(sink.run())  # the interval is an hour: only the batch size can trigger it
    sink.add("a", {"n": 1})
    sink.add("a", {"n": 2})
    while not store.inserts:
        await asyncio.sleep(0.01)
    runner.cancel()
    assert store.rows("a") == [1, 2]


async def test_close_flushes_what_is_left() -> None:
    store = FakeStore()
    sink = make_sink(store)
    sink.add("a", {"n": 1})
    await sink.close()
    assert store.rows("a") == [1]


async def test_a_hanging_store_is_given_up_on_and_retried() -> None:
    store = FakeStore()
    store.released.clear()  # inserts hang until released
    sink = make_sink(store, timeout=0.05)
    sink.add("a", {"n": 1})
    assert not await sink.flush()
    assert sink.pending == 1
    store.released.set()
    assert await sink.flush()
    assert 1 in store.rows("a")  # the abandoned insert may land too; the tables dedupe


async def test_new_rows_do_not_cut_the_backoff_short_while_the_store_is_down() -> None:
    store = FakeStore()
    store.down = True
    sink = make_sink(store, batch_size=1, buffer_max=1000, flush_seconds=0.05)
    runner = asyncio.create_task(sink.run())
    for n in range(60):  # a full batch on every row, for 0.6 s
        sink.add("a", {"n": n})
        await asyncio.sleep(0.01)
    # retries after about 0.1, 0.2, 0.4 s (plus jitter): not one per row
    assert 1 <= store.calls <= 5, store.calls
    assert sink.pending == 60  # still buffered
    store.down = False
    while sink.pending:
        await asyncio.sleep(0.05)
    runner.cancel()
    assert store.rows("a") == list(range(60))


@pytest.fixture
def store_api() -> Iterator[str]:
    """A stand-in for `videogen analytics serve` that accepts every insert."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"inserted": 1}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_inserts_are_not_logged_at_info(store_api: str, caplog: pytest.LogCaptureFixture) -> None:
    client = StoreClient(store_api, timeout=5)
    try:
        caplog.set_level(logging.INFO)
        client.insert("jobs", [{"n": 1}])
        assert not [r for r in caplog.records if r.levelno >= logging.INFO], caplog.text
        caplog.set_level(logging.DEBUG)
        client.insert("jobs", [{"n": 2}])
        assert any("POST" in r.getMessage() and "/insert" in r.getMessage() for r in caplog.records)
    finally:
        client.close()
