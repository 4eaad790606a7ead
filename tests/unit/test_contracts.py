"""Contracts that outside users rely on: generated schemas, docs and the event fold."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.errors import ErrorCode
from schemas.events import (
    ErrorInfo,
    JobAccepted,
    JobEnded,
    JobRequested,
    ResultInfo,
    StageProgress,
    apply_event,
)
from schemas.export import EXPORTED, SCHEMA_DIR, render_schema
from schemas.settings import settings_markdown
from schemas.spec import VideoSpec

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_committed_json_schemas_match_the_models(name: str) -> None:
    committed = (SCHEMA_DIR / f"{name}.schema.json").read_bytes()
    assert committed == render_schema(EXPORTED[name]), "run `make docs` and commit the result"


def test_settings_table_is_current() -> None:
    table = (ROOT / "docs" / "settings.md").read_text()
    assert settings_markdown() in table, "run `make docs` and commit docs/settings.md"


def test_fold_keeps_progress_monotonic_and_terminal_final() -> None:
    state = apply_event(None, JobAccepted(job_id="vg_1"))
    state = apply_event(state, StageProgress(job_id="vg_1", stage="render", progress_percent=60))
    state = apply_event(state, StageProgress(job_id="vg_1", stage="render", progress_percent=40))
    assert state.progress_percent == 60 and state.status == "processing"
    result = ResultInfo(
        result_url="u",
        s3_key="k",
        file_size_bytes=1,
        duration_seconds=1,
        width=2,
        height=2,
        output_format="mp4",
    )
    state = apply_event(state, JobEnded(job_id="vg_1", stage="notify", status="completed", result=result))
    assert state.status == "completed" and state.result == result and state.finished_at
    error = ErrorInfo(code=ErrorCode.FFMPEG_ERROR, message="x")
    late = apply_event(state, JobEnded(job_id="vg_1", stage="render", status="failed", error=error))
    assert late == state


def test_spec_errors_name_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        VideoSpec.model_validate({"width": 721, "height": 1280, "elements": [{"type": "image"}]})
    locations = {".".join(map(str, e["loc"])) for e in caught.value.errors()}
    assert "width" in locations
    assert any(loc.startswith("elements.0") for loc in locations)


def test_kafka_contract_accepts_a_minimal_message() -> None:
    request = JobRequested.model_validate(
        {
            "spec": {
                "width": 640,
                "height": 360,
                "elements": [{"type": "color", "color": "#ff0000", "duration": 1}],
            }
        }
    )
    assert request.job_id is None and request.spec.out_width == 640


def test_resolution_preset_fills_dimensions() -> None:
    spec = VideoSpec.model_validate(
        {"resolution": "1080p", "elements": [{"type": "color", "color": "#000000"}]}
    )
    assert (spec.width, spec.height) == (1920, 1080)
