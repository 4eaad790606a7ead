"""The Grafana dashboards, checked headlessly (no Grafana here): every PromQL series and label is
one the code exports, every ClickHouse query runs on the analytics schema as Grafana would send it,
the bundled analyst queries are all on the analytics dashboard, and the compose services scrape and
provision what the dashboards read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from analytics.cli import bundled, resolve_sql
from analytics.client import ClickHouseClient
from deploy.dashboards import dashboards, expand_macros, exported_series, load, panels, queries

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseClient]:
    client = ClickHouseClient.open_embedded(tmp_path_factory.mktemp("dashboards") / "analytics")
    client.ensure_schema()
    yield client
    client.close()  # chDB opens one path per process: release it for the next test


def test_there_is_a_prometheus_and_a_clickhouse_dashboard() -> None:
    assert dashboards() == ["videogen-analytics", "videogen-pipeline"]
    kinds = {name: {q.language for q in queries(load(name))} for name in dashboards()}
    assert kinds == {"videogen-analytics": {"sql"}, "videogen-pipeline": {"promql"}}


@pytest.mark.parametrize("name", ["videogen-analytics", "videogen-pipeline"])
def test_panels_have_unique_ids_and_do_not_overlap_on_the_grid(name: str) -> None:
    dashboard = load(name)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"] == name
    taken: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_every_promql_series_and_label_is_exported_by_the_code() -> None:
    scrape_labels = {"instance", "job"}
    series = exported_series() | {"up": scrape_labels}  # Prometheus' own: is the target reachable
    for query in queries(load("videogen-pipeline")):
        used = set(re.findall(r"\b(videogen_\w+|up)(?=[{\[)\s])", query.text))
        assert used, query
        for name in used:
            assert name in series, f"{query.panel}: {name} is not a metric of the code"
        labels = set().union(*(series[name] for name in used)) | scrape_labels
        grouped = {
            label.strip() for group in re.findall(r"by \(([^)]*)\)", query.text) for label in group.split(",")
        }
        matched = set(re.findall(r"(\w+)=\"", query.text))
        assert grouped | matched <= labels, f"{query.panel}: labels {(grouped | matched) - labels}"


def test_the_worker_and_api_counts_use_the_scrape_jobs_of_prometheus_yml() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job["dns_sd_configs"][0] for job in config["scrape_configs"]}
    assert jobs["videogen-api"]["names"] == ["api"] and jobs["videogen-api"]["port"] == 8000
    assert jobs["videogen-worker"]["names"] == ["worker"] and jobs["videogen-worker"]["port"] == 6066
    texts = " ".join(q.text for q in queries(load("videogen-pipeline")))
    assert set(re.findall(r'job="([^"]+)"', texts)) == set(jobs)


def test_every_sql_query_runs_on_the_analytics_schema(store: ClickHouseClient) -> None:
    for query in queries(load("videogen-analytics")):
        assert "$__" not in expand_macros(query.text), query.panel
        store.query(expand_macros(query.text))  # raises on an unknown table, column or function


def test_every_bundled_analyst_query_is_a_panel() -> None:
    shown = {q.text for q in queries(load("videogen-analytics"))}
    for name in bundled():
        sql = "\n".join(line for line in resolve_sql(name).splitlines() if not line.lstrip().startswith("--"))
        assert sql.strip() in shown, f"analytics/queries/{name}.sql is not on the dashboard (or differs)"


def test_grafana_is_provisioned_with_both_data_sources_and_the_dashboards() -> None:
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "videogen.yaml").read_text())
    uids = {source["uid"]: source["type"] for source in sources["datasources"]}
    assert uids == {"prometheus": "prometheus", "clickhouse": "grafana-clickhouse-datasource"}
    for name in dashboards():
        for panel in panels(load(name)):
            assert uids[panel["datasource"]["uid"]] == panel["datasource"]["type"], panel["title"]
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    grafana, prometheus = compose["services"]["grafana"], compose["services"]["prometheus"]
    assert "grafana-clickhouse-datasource" in grafana["environment"]["GF_INSTALL_PLUGINS"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "videogen.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
