"""`videogen analytics query|serve` argument handling and output, on a real chDB."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

import pytest

from analytics import cli
from analytics.client import ClickHouseClient, QueryResult
from schemas.settings import Settings


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="videogen")
    cli.add_analytics_commands(root.add_subparsers(dest="command", required=True))
    return root


def test_query_a_bundled_file_as_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client = ClickHouseClient.open_embedded(tmp_path / "analytics")
    client.ensure_schema()
    try:
        client.insert(
            "jobs",
            [
                {
                    "job_id": "vg_1",
                    "status": "failed",
                    "error_code": "FFMPEG_ERROR",
                    "failed_stage": "render",
                    "submitted_at": 1_763_700_000.0,
                    "finished_at": 1_763_700_004.0,
                },
                {
                    "job_id": "vg_2",
                    "status": "completed",
                    "submitted_at": 1_763_700_000.0,
                    "finished_at": 1_763_700_009.0,
                },
            ],
        )
        monkeypatch.setattr(cli, "client_from_settings", lambda _settings: client)
        monkeypatch.setattr(client, "close", lambda: None)
        args = parser().parse_args(["analytics", "query", "error_rate_by_code", "--format", "csv"])
        assert args.func(args) == 0
    finally:
        ClickHouseClient.close(client)
    assert capsys.readouterr().out.splitlines() == [
        "error_code,failed_stage,jobs,rate",
        "FFMPEG_ERROR,render,1,0.5",
    ]


def test_sql_from_a_file_or_inline(tmp_path: Path) -> None:
    path = tmp_path / "mine.sql"
    path.write_text("-- comment\nSELECT 1;\n")
    assert cli.resolve_sql(str(path)) == "-- comment\nSELECT 1"
    assert cli.resolve_sql("SELECT 2 ;") == "SELECT 2"
    assert cli.resolve_sql("estimate_accuracy.sql").startswith("-- Estimate accuracy")


def test_table_format_aligns_and_shows_nulls_as_blank() -> None:
    result = QueryResult(["stage", "p50"], [["render", 12.5], ["validate", None]])
    assert cli.format_result(result, "table").splitlines() == [
        "stage     p50 ",
        "--------  ----",
        "render    12.5",
        "validate      ",
        "(2 rows)",
    ]


def test_unreachable_store_is_an_error_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    settings = Settings(_env_file=None, analytics_port=port, clickhouse_url=None)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    args = parser().parse_args(["analytics", "query", "SELECT 1"])
    assert args.func(args) == 1
    assert "unreachable" in capsys.readouterr().err
