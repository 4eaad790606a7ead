"""`videogen analytics query FILE_OR_SQL` and `videogen analytics serve`.

Queries go through the same client as the pipeline (analytics/client.py), so they run against
ClickHouse, or against the embedded store's server while the stack is up.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from analytics.client import AnalyticsError, QueryResult, client_from_settings
from schemas.settings import get_settings

FORMATS = ("table", "csv", "json")


def add_analytics_commands(subparsers: Any) -> None:
    """Register `analytics query` and `analytics serve` on the `videogen` parser's subcommands."""
    analytics = subparsers.add_parser("analytics", help="query the analytics store, or run the embedded one")
    commands = analytics.add_subparsers(dest="analytics_command", required=True)
    query = commands.add_parser(
        "query", help="run SQL (a file, a bundled query's name, or inline) and print rows"
    )
    query.add_argument(
        "sql", metavar="FILE_OR_SQL", help=f"e.g. estimate_accuracy; bundled: {', '.join(bundled())}"
    )
    query.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    query.set_defaults(func=_cmd_query)
    serve = commands.add_parser("serve", help="own the embedded chDB store and serve it (no CLICKHOUSE_URL)")
    serve.set_defaults(func=_cmd_serve)


def bundled() -> list[str]:
    """The analyst queries shipped in analytics/queries/, by name."""
    files = resources.files("analytics.queries").iterdir()
    return sorted(entry.name.removesuffix(".sql") for entry in files if entry.name.endswith(".sql"))


def resolve_sql(arg: str) -> str:
    """A path to a .sql file, the name of a bundled query, or SQL itself."""
    path = Path(arg)
    if path.suffix == ".sql" and path.is_file():
        text = path.read_text()
    elif arg.removesuffix(".sql") in bundled():
        text = resources.files("analytics.queries").joinpath(f"{arg.removesuffix('.sql')}.sql").read_text()
    else:
        text = arg
    return text.strip().rstrip(";").strip()


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def format_result(result: QueryResult, fmt: str) -> str:
    if fmt == "json":
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        return orjson.dumps(rows, default=str, option=orjson.OPT_INDENT_2).decode()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([[_cell(v) for v in row] for row in result.rows])
        return out.getvalue().rstrip("\n")
    cells = [[_cell(v) for v in row] for row in result.rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(result.columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(result.columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines)


def _cmd_query(args: argparse.Namespace) -> int:
    try:
        client = client_from_settings(get_settings())
        try:
            result = client.query(resolve_sql(args.sql))
        finally:
            client.close()
    except AnalyticsError as exc:
        print(f"videogen analytics: {exc}", file=sys.stderr)
        return 1
    print(format_result(result, args.format))
    return 0


def _cmd_serve(_: argparse.Namespace) -> int:
    from analytics.server import serve
    from streams.jsonlog import configure_logging

    settings = get_settings()
    if settings.clickhouse_url:
        print(
            "videogen analytics: CLICKHOUSE_URL is set; there is no embedded store to serve", file=sys.stderr
        )
        return 1
    configure_logging("analytics", settings.log_level)
    serve(settings)
    return 0
