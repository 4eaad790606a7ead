"""Per-job scratch directories on the worker's disk, one subdirectory per stage attempt.

Workers on one host share the work root, and a redelivered stage may run while an earlier attempt
still does: no two attempts ever write into the same directory or file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from schemas.settings import Settings


def job_dir(settings: Settings, job_id: str) -> Path:
    return settings.job_work_root / job_id


def sources_dir(settings: Settings, job_id: str, attempt_id: str) -> Path:
    return job_dir(settings, job_id) / f"sources-{attempt_id}"


def output_path(settings: Settings, job_id: str, output_format: str, attempt_id: str) -> Path:
    return job_dir(settings, job_id) / "output" / f"{job_id}.{attempt_id}.{output_format}"


def remove_job_dir(settings: Settings, job_id: str) -> None:
    """Drop a job's files once it has ended, unless KEEP_TEMP_FILES asks to keep them."""
    if not settings.keep_temp_files:
        shutil.rmtree(job_dir(settings, job_id), ignore_errors=True)


def remove_sources(settings: Settings, job_id: str) -> None:
    """The sources of every attempt: not needed once the job's video is rendered."""
    if not settings.keep_temp_files:
        for path in job_dir(settings, job_id).glob("sources-*"):
            shutil.rmtree(path, ignore_errors=True)
