"""A job whose upload fails keeps its rendered file for a retry; any other failure cleans up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import agents.stage as stage
from agents.workdir import job_dir
from schemas.errors import ErrorCode, JobError
from schemas.events import JobContext
from schemas.settings import Settings
from schemas.spec import VideoSpec


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> JobContext:
    settings = Settings(data_dir=tmp_path)
    monkeypatch.setattr(stage, "get_settings", lambda: settings)
    failed: list[JobError] = []

    async def fail(job_id: str, where: str, error: JobError, **_: Any) -> None:
        failed.append(error)

    monkeypatch.setattr(stage, "fail", fail)
    spec = VideoSpec.model_validate(
        {"width": 64, "height": 64, "duration": 1, "elements": [{"type": "color", "color": "#000000"}]}
    )
    output = job_dir(settings, "vg_1") / "output" / "vg_1.w.mp4"
    output.parent.mkdir(parents=True)
    output.write_bytes(b"rendered")
    return JobContext(job_id="vg_1", submitted_at_ms=1, estimated_seconds=1.0, spec=spec)


def _output(tmp_path: Path) -> Path:
    return tmp_path / "work" / "vg_1" / "output" / "vg_1.w.mp4"


@pytest.mark.parametrize(
    "code", [ErrorCode.S3_UPLOAD_FAILED, ErrorCode.S3_ACCESS_DENIED, ErrorCode.S3_BUCKET_NOT_FOUND]
)
async def test_storage_failures_keep_the_rendered_file(
    ctx: JobContext, tmp_path: Path, code: ErrorCode
) -> None:
    async def upload() -> None:
        raise JobError(code, "storage said no")

    await stage.handle_safely("upload", ctx, upload)
    assert _output(tmp_path).read_bytes() == b"rendered"


@pytest.mark.parametrize("code", [ErrorCode.FFMPEG_ERROR, ErrorCode.INVALID_INPUT, ErrorCode.CANCELLED])
async def test_other_failures_remove_the_job_files(ctx: JobContext, tmp_path: Path, code: ErrorCode) -> None:
    async def upload() -> None:
        raise JobError(code, "no")

    await stage.handle_safely("upload", ctx, upload)
    assert not (tmp_path / "work" / "vg_1").exists()
