"""The analytics schema, dedupe, analyst queries, the store's server and the estimator, on a real chDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from litestar.testing import TestClient

from analytics.cli import bundled, format_result, resolve_sql
from analytics.client import AnalyticsError, ClickHouseClient, StoreClient
from analytics.estimator import LearningEstimator
from analytics.migrate import available, migrate
from analytics.rows import rows_for
from analytics.server import Store, create_app
from media.estimate import estimate_seconds
from media.workload import workload
from schemas.errors import ErrorCode
from schemas.events import (
    Ahead,
    EndStatus,
    ErrorInfo,
    JobAccepted,
    JobEnded,
    JobEvent,
    ResultInfo,
    Stage,
    StageFinished,
    StageProgress,
    Workload,
)
from schemas.spec import VideoSpec

T0 = 1_763_700_000.0
THRESHOLD = 30.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ClickHouseClient]:
    client = ClickHouseClient.open_embedded(tmp_path / "analytics")
    client.ensure_schema()
    yield client
    client.close()  # chDB opens one path per process: release it for the next test


def completed_job(
    job_id: str,
    start: float,
    seconds: float,
    *,
    fmt: str = "mp4",
    estimate: float = 10.0,
    width: int = 1280,
    height: int = 720,
    duration: float = 10.0,
    work: Workload | None = None,
) -> list[JobEvent]:
    common = {"job_id": job_id, "tenant": "acme", "request_id": f"req-{job_id}"}
    result = ResultInfo(
        result_url=f"https://b/{job_id}.{fmt}",
        s3_key=f"processed/{job_id}.{fmt}",
        file_size_bytes=1_000_000,
        duration_seconds=duration,
        width=width,
        height=height,
        output_format=fmt,
    )
    return [
        JobAccepted(
            **common,
            at=start,
            estimated_seconds=estimate,
            submitted_at_ms=int(start * 1000),
            output_format=fmt,
            element_counts={"video": 1, "text": 2},
            backlog=0,
            workers=1,
            workload=work,
            ahead=Ahead(),
        ),
        StageFinished(
            **common,
            stage="validate",
            at=start + 0.1,
            stage_seconds=0.1,
            estimated_seconds=estimate,
            submitted_at_ms=int(start * 1000),
            output_format=fmt,
        ),
        StageFinished(**common, stage="fetch", at=start + 1, bytes_in=5_000, stage_seconds=0.9),
        StageProgress(**common, stage="render", at=start + 2, progress_percent=50),
        StageFinished(
            **common,
            stage="render",
            at=start + seconds - 1,
            bytes_out=1_000_000,
            stage_seconds=seconds - 2,
        ),
        StageFinished(**common, stage="upload", at=start + seconds - 0.5, stage_seconds=0.5),
        JobEnded(
            **common,
            stage="notify",
            status="completed",
            at=start + seconds,
            result=result,
            output_format=fmt,
            bytes_out=1_000_000,
        ),
    ]


def ended_job(job_id: str, start: float, stage: Stage, code: ErrorCode) -> list[JobEvent]:
    status: EndStatus = "cancelled" if code == ErrorCode.CANCELLED else "failed"
    return [
        JobAccepted(
            job_id=job_id,
            at=start,
            estimated_seconds=40.0,
            submitted_at_ms=int(start * 1000),
            output_format="webm",
        ),
        JobEnded(
            job_id=job_id,
            stage=stage,
            status=status,
            at=start + 3,
            error=ErrorInfo(code=code, message="it broke"),
        ),
    ]


def load(client: ClickHouseClient, events: list[JobEvent]) -> None:
    """Insert the rows of these events, one insert per table (as the sink batches them)."""
    batches: dict[str, list[dict[str, object]]] = {}
    for event in events:
        for table, row in rows_for(event, THRESHOLD):
            batches.setdefault(table, []).append(row)
    for table, rows in batches.items():
        client.insert(table, rows)


def history() -> list[JobEvent]:
    return [
        *completed_job("vg_a", T0, 12.0),
        *completed_job("vg_b", T0 + 100, 20.0),
        *ended_job("vg_bad", T0 + 200, "fetch", ErrorCode.SOURCE_DOWNLOAD_FAILED),
        *ended_job("vg_cancel", T0 + 300, "render", ErrorCode.CANCELLED),
    ]


def test_migrations_are_versioned_and_idempotent(store: ClickHouseClient) -> None:
    assert migrate(store) == []
    store.ensure_schema()
    recorded = store.query(
        "SELECT version, count() FROM schema_migrations FINAL GROUP BY version ORDER BY version"
    )
    assert recorded.rows == [[m.version, 1] for m in available()]
    tables = {row[0] for row in store.query("SHOW TABLES").rows}
    assert {"stage_transitions", "jobs", "stages", "finished_jobs"} <= tables


def test_replayed_events_do_not_double_rows(store: ClickHouseClient) -> None:
    load(store, history())
    load(store, history())  # the events topic replayed from the start
    per_stage = store.query(
        "SELECT job_id, stage, count() FROM stages GROUP BY job_id, stage ORDER BY job_id, stage"
    )
    assert [row[2] for row in per_stage.rows] == [1] * len(per_stage.rows)
    assert {(r[0], r[1]) for r in per_stage.rows if r[0] == "vg_a"} == {
        ("vg_a", s) for s in ("accepted", "validate", "fetch", "render", "upload", "notify")
    }
    jobs = store.query(
        "SELECT job_id, status, error_code, processing_seconds, source_bytes, elements_text, quick_response "
        "FROM finished_jobs ORDER BY job_id"
    )
    assert jobs.rows == [
        ["vg_a", "completed", None, 12.0, 5000, 2, 1],
        ["vg_b", "completed", None, 20.0, 5000, 2, 1],
        ["vg_bad", "failed", "SOURCE_DOWNLOAD_FAILED", 3.0, None, None, 0],
        ["vg_cancel", "cancelled", "CANCELLED", 3.0, None, None, 0],
    ]


def test_every_bundled_query_runs(store: ClickHouseClient) -> None:
    load(store, history())
    results = {name: store.query(resolve_sql(name)) for name in bundled()}
    assert set(results) == {
        "error_rate_by_code",
        "estimate_accuracy",
        "processing_time_by_output_size",
        "processing_time_by_stage",
        "quick_response_rate",
        "storage_bytes_per_day",
    }
    errors = {tuple(row[:3]) for row in results["error_rate_by_code"].rows}
    assert errors == {("SOURCE_DOWNLOAD_FAILED", "fetch", 1), ("CANCELLED", "render", 1)}
    accuracy = dict(
        zip(results["estimate_accuracy"].columns, results["estimate_accuracy"].rows[0], strict=True)
    )
    assert accuracy["jobs"] == 2 and accuracy["median_ratio"] == pytest.approx(1.6)
    stages = {row[0]: row for row in results["processing_time_by_stage"].rows}
    assert stages["fetch"][1] == 2 and stages["job (total)"][1] == 2
    storage = results["storage_bytes_per_day"].rows
    assert [row[1:3] for row in storage] == [[2, 2_000_000]]


def test_store_server_serves_inserts_and_queries_to_the_cli(store: ClickHouseClient) -> None:
    with TestClient(create_app(Store(store))) as http:
        client = StoreClient("http://testserver", 5.0)
        client._http = http  # the Litestar test client is an httpx.Client on the app
        assert client.ping()
        for table, row in rows_for(history()[0], THRESHOLD):
            client.insert(table, [row])
        result = client.query(resolve_sql("SELECT job_id, quick_path FROM jobs FINAL;"))
        assert result.rows == [["vg_a", 1]]
        moment = client.query("SELECT toDateTime64('2026-01-31 12:00:00', 3, 'UTC') AS t")
        assert moment.rows == [
            [str(store.query("SELECT toDateTime64('2026-01-31 12:00:00', 3, 'UTC')").rows[0][0])]
        ]
        with pytest.raises(AnalyticsError, match="UNKNOWN_TABLE"):
            client.query("SELECT * FROM nowhere")
        with pytest.raises(AnalyticsError):
            client.insert("jobs; DROP TABLE jobs", [{"job_id": "x"}])
    assert format_result(result, "csv") == "job_id,quick_path\nvg_a,1"
    assert orjson.loads(format_result(result, "json")) == [{"job_id": "vg_a", "quick_path": 1}]
    assert format_result(result, "table").splitlines() == [
        "job_id  quick_path",
        "------  ----------",
        "vg_a    1         ",
        "(1 row)",
    ]


def _spec(fmt: str, seconds: float) -> VideoSpec:
    return VideoSpec.model_validate(
        {
            "output_format": fmt,
            "width": 1280,
            "height": 720,
            "duration": seconds,
            "elements": [{"type": "text", "text": "hi"}],
        }
    )


async def test_estimator_learns_per_format_and_falls_back_without_history(
    store: ClickHouseClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Completed mp4 jobs of one full-frame layer that took 2 s + 0.5 s per second of 720p output.
    events = completed_job("vg_old", T0 - 100, 99.0)  # from before the workload was recorded: not fitted
    for i, seconds in enumerate((4.0, 8.0, 10.0, 16.0, 20.0, 30.0)):
        work = Workload(pixel_seconds=seconds, layer_seconds=seconds)
        events += completed_job(f"vg_{i}", T0 + i * 100, 2.0 + 0.5 * seconds, work=work)
    load(store, events)
    monkeypatch.setattr(store, "close", lambda: None)  # the estimator closes its client after each refit
    estimator = LearningEstimator(lambda: store, refresh_seconds=3600, timeout=30)

    async def estimate(spec: VideoSpec) -> float:
        return await estimator.estimate(spec, workload(spec), Ahead(), 1)

    baseline = estimate_seconds(_spec("mp4", 12.0))
    assert await estimate(_spec("mp4", 12.0)) == baseline  # no fit yet: the formula
    await estimator.close()  # the refit the first call started
    assert estimator.fits["mp4"].jobs == 6
    assert await estimate(_spec("mp4", 12.0)) == pytest.approx(8.0, abs=0.05)
    assert await estimate(_spec("webm", 12.0)) == estimate_seconds(_spec("webm", 12.0))
