"""The worker process: creates the topics, stores the prompt generator's music beds, registers every
stage agent, runs Faust."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import subprocess

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError
from faust import Worker

from generator.music import publish_music
from schemas.settings import get_settings
from streams.admin import ensure_topics
from streams.jsonlog import configure_logging
from streams.tracing import configure_tracing

STAGES = (
    "state", "records", "validate", "fetch", "render", "chunks", "upload", "notify", "batches", "analytics",
)  # fmt: skip


def run_worker() -> None:
    settings = get_settings()
    handler = configure_logging("worker", settings.log_level)
    configure_tracing(settings, "worker")
    asyncio.run(ensure_topics(settings))
    try:  # before consuming: a worker that fetches a prompt job's music finds it stored
        publish_music(settings)
    except (ClientError, BotoCoreError, S3UploadFailedError, OSError, subprocess.SubprocessError):
        logging.getLogger(__name__).exception(
            "music beds not stored: prompt jobs will fail to fetch their music"
        )
    for stage in STAGES:
        importlib.import_module(f"agents.{stage}")
    from streams.app import app, table_dir

    settings.job_work_root.mkdir(parents=True, exist_ok=True)
    table_dir(settings).mkdir(parents=True, exist_ok=True)
    app.conf.loghandlers = [handler]
    # mode would add a plain-text stderr handler; our JSON handler (loghandlers) is the only output.
    Worker(app, loglevel=settings.log_level, logfile=os.devnull, quiet=True).execute_from_commandline()
