"""Per-job scratch directories on the worker's disk."""

from __future__ import annotations

import shutil
from pathlib import Path

from schemas.settings import Settings


def job_dir(settings: Settings, job_id: str) -> Path:
    return settings.job_work_root / job_id


def sources_dir(settings: Settings, job_id: str) -> Path:
    return job_dir(settings, job_id) / "sources"


def output_path(settings: Settings, job_id: str, output_format: str, worker: str) -> Path:
    """Per worker: a job re-rendered elsewhere after a crash never writes into another render's file."""
    return job_dir(settings, job_id) / "output" / f"{job_id}.{worker}.{output_format}"


def remove_job_dir(settings: Settings, job_id: str) -> None:
    """Drop a job's files once it has ended, unless KEEP_TEMP_FILES asks to keep them."""
    if not settings.keep_temp_files:
        shutil.rmtree(job_dir(settings, job_id), ignore_errors=True)
