"""Stage 2: download every source of a job to the worker's disk, safely (see media.fetch)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from agents.publish import WORKER_ID, emit, send
from agents.stage import run_stage
from agents.storage import s3_client
from agents.workdir import sources_dir
from media.fetch import fetch_sources
from schemas.events import JobContext, JobFetched, JobValidated, SourceFile
from schemas.settings import get_settings
from streams.app import app, fetched_topic, validated_topic


async def fetch_for(ctx: JobContext) -> dict[str, SourceFile]:
    """Fetch a job's sources; also used by later stages that run where the files are missing."""
    settings = get_settings()
    client = (
        s3_client(settings) if any((e.source or "").startswith("s3://") for e in ctx.spec.elements) else None
    )
    fetched = await fetch_sources(ctx.spec, sources_dir(settings, ctx.job_id), settings, s3_client=client)
    return {str(index): source for index, source in fetched.items()}


def missing(sources: dict[str, SourceFile]) -> bool:
    return any(not Path(s.path).is_file() for s in sources.values())


async def _fetch(message: JobValidated) -> None:
    ctx = message.ctx
    await emit(ctx, "fetch", "downloading sources", 10.0)
    started = time.monotonic()
    sources = await fetch_for(ctx)
    total = sum(s.size_bytes for s in sources.values())
    await emit(
        ctx, "fetch", "sources downloaded", 20.0, bytes_in=total, stage_seconds=time.monotonic() - started
    )
    await send(fetched_topic, ctx.job_id, JobFetched(ctx=ctx, sources=sources, worker=WORKER_ID))


@app.agent(validated_topic)
async def fetch_stage(stream: Any) -> None:
    await run_stage(stream.events(), "fetch", JobValidated, _fetch)
