"""The worker process: creates the topics, registers every stage agent, runs Faust."""

from __future__ import annotations

import asyncio
import importlib
import os

from faust import Worker

from schemas.settings import get_settings
from streams.admin import ensure_topics
from streams.jsonlog import configure_logging

STAGES = ("state", "validate", "fetch", "render", "chunks", "upload", "notify", "batches", "analytics")


def run_worker() -> None:
    settings = get_settings()
    handler = configure_logging("worker", settings.log_level)
    asyncio.run(ensure_topics(settings))
    for stage in STAGES:
        importlib.import_module(f"agents.{stage}")
    from streams.app import app

    settings.job_work_root.mkdir(parents=True, exist_ok=True)
    app.conf.loghandlers = [handler]
    # mode would add a plain-text stderr handler; our JSON handler (loghandlers) is the only output.
    Worker(app, loglevel=settings.log_level, logfile=os.devnull, quiet=True).execute_from_commandline()
