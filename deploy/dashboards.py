"""The Grafana dashboards of deploy/grafana/, read without Grafana: their queries (PromQL and
ClickHouse SQL), the SQL as ClickHouse will run it once Grafana's macros are expanded, the metric
series the code exports, and a static HTML preview of a dashboard's layout (panel grid, titles,
queries) that a headless browser can photograph where Grafana itself cannot run."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

DASHBOARDS = Path(__file__).parent / "grafana" / "dashboards"

# Grafana's ClickHouse macros, as the data source expands them for the last 6 hours at 1-minute steps.
_MACROS = (
    (re.compile(r"\$__timeFilter\((\w+)\)"), r"(\1 >= now() - INTERVAL 6 HOUR AND \1 <= now())"),
    (re.compile(r"\$__timeInterval\((\w+)\)"), r"toStartOfInterval(\1, INTERVAL 60 second)"),
    (re.compile(r"\$__fromTime\b"), "(now() - INTERVAL 6 HOUR)"),
    (re.compile(r"\$__toTime\b"), "now()"),
)


@dataclass(frozen=True)
class Query:
    panel: str
    language: str  # "promql" or "sql"
    text: str


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((DASHBOARDS / f"{name}.json").read_text()))


def dashboards() -> list[str]:
    return sorted(path.stem for path in DASHBOARDS.glob("*.json"))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel but the rows, in dashboard order."""
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def queries(dashboard: dict[str, Any]) -> list[Query]:
    found = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if "expr" in target:
                found.append(Query(panel["title"], "promql", target["expr"]))
            if "rawSql" in target:
                found.append(Query(panel["title"], "sql", target["rawSql"]))
    return found


def expand_macros(sql: str) -> str:
    for pattern, replacement in _MACROS:
        sql = pattern.sub(replacement, sql)
    return sql


def exported_series() -> dict[str, set[str]]:
    """Series names the code's registry exposes, with their label names (a counter `x` is scraped
    as `x_total`, a histogram as `x_bucket`, `x_sum`, `x_count`)."""
    import analytics.metrics  # noqa: F401  (registers the metrics)

    series: dict[str, set[str]] = {}
    for collector in list(REGISTRY._collector_to_names):  # the registry lists no labels publicly
        name, kind = getattr(collector, "_name", None), getattr(collector, "_type", None)
        labels = set(getattr(collector, "_labelnames", ()))
        if name is None:
            continue
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(str(kind), [""])
        for suffix in suffixes:
            series[name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return series


def preview_html(dashboard: dict[str, Any], notes: dict[str, str] | None = None) -> str:
    """The dashboard's 24-column grid drawn as HTML: each panel's title, type and query, and a note
    under it (what the headless check found)."""
    notes = notes or {}
    cells = []
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        style = f"grid-column:{grid['x'] + 1}/span {grid['w']};grid-row:{grid['y'] + 1}/span {grid['h']}"
        if panel["type"] == "row":
            cells.append(f'<div class="row" style="{style}">{html.escape(panel["title"])}</div>')
            continue
        shown = "\n".join(
            target.get("expr") or target.get("rawSql", "") for target in panel.get("targets", [])
        )
        note = notes.get(panel["title"], "")
        cells.append(
            f'<div class="panel" style="{style}"><div class="title">{html.escape(panel["title"])}'
            f'<span class="kind">{html.escape(panel["type"])}</span></div>'
            f"<pre>{html.escape(shown)}</pre>"
            + (f'<div class="note">{html.escape(note)}</div>' if note else "")
            + "</div>"
        )
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; padding: 16px; background: #111217; color: #ccccdc; font: 13px sans-serif; }}
h1 {{ font-size: 18px; margin: 0 0 12px; color: #fff; }}
.grid {{ display: grid; grid-template-columns: repeat(24, 1fr); grid-auto-rows: 20px; gap: 6px; }}
.row {{ color: #fff; font-weight: bold; border-bottom: 1px solid #2c3235; padding-top: 8px; }}
.panel {{ background: #181b1f; border: 1px solid #2c3235; border-radius: 4px; padding: 8px;
  overflow: hidden; display: flex; flex-direction: column; }}
.title {{ color: #fff; font-weight: 600; margin-bottom: 6px; }}
.kind {{ float: right; color: #6e9fff; font-weight: normal; font-size: 11px; }}
pre {{ margin: 0; white-space: pre-wrap; font-size: 10px; color: #9fa7b3; flex: 1; overflow: hidden; }}
.note {{ color: #73bf69; font-size: 11px; margin-top: 4px; }}
</style></head><body><h1>{html.escape(dashboard["title"])}</h1>
<div class="grid">{"".join(cells)}</div></body></html>"""


def check_notes(dashboard: dict[str, Any], work: Path) -> dict[str, str]:
    """What the headless check finds per panel: the series it reads exist, or its SQL's columns."""
    from analytics.client import ClickHouseClient

    series = exported_series()
    notes: dict[str, str] = {}
    sql = [q for q in queries(dashboard) if q.language == "sql"]
    store = ClickHouseClient.open_embedded(work / "analytics") if sql else None
    try:
        if store is not None:
            store.ensure_schema()
        for query in queries(dashboard):
            if query.language == "promql":
                used = sorted(set(re.findall(r"\bvideogen_\w+", query.text)))
                found = all(name in series for name in used)
                note = ("✓ exported: " if found else "✗ missing: ") + ", ".join(used)
                note = note if used else "✓ Prometheus' own up{job}"
            elif store is not None:
                sql_run = expand_macros(query.text)
                rows = store.query(sql_run).rows
                columns = [str(row[0]) for row in store.query_rows(f"DESCRIBE ({sql_run})")]
                note = f"✓ runs on chDB ({len(rows)} rows): " + ", ".join(columns)
            notes[query.panel] = f"{notes[query.panel]}; {note}" if query.panel in notes else note
    finally:
        if store is not None:
            store.close()
    return notes


def main(argv: list[str] | None = None) -> int:
    """`python -m deploy.dashboards OUT_DIR`: a PNG preview of each dashboard, checked, taken by the
    system Chromium through Playwright (Grafana cannot run here)."""
    import shutil
    import sys
    import tempfile

    from playwright.sync_api import sync_playwright

    out = Path((argv if argv is not None else sys.argv[1:])[0])
    with tempfile.TemporaryDirectory(prefix="videogen-dashboards-") as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"))
        try:
            for name in dashboards():
                dashboard = load(name)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.set_content(preview_html(dashboard, check_notes(dashboard, Path(tmp) / name)))
                page.screenshot(
                    path=str(out / f"dashboard-{name.removeprefix('videogen-')}.png"), full_page=True
                )
                print(out / f"dashboard-{name.removeprefix('videogen-')}.png")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
