"""A chunked render on this machine: chunks rendered `workers` at a time, the sound once, then
joined. The distributed render stage does the same with chunks spread over the worker group; this
is what tests and `bench/chunked.py` compare with the one-pass render."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from media.chunks import Chunk, chunk_spec, plan
from media.compiler import Silent
from media.render import RenderOutcome, join_parts, render_part
from schemas.settings import Settings
from schemas.spec import VideoSpec


def chunk_path(out_path: Path, chunk: Chunk) -> Path:
    return out_path.with_name(f"{out_path.stem}.chunk{chunk.index:04d}.mp4")


async def render_chunked(
    spec: VideoSpec,
    sources: Mapping[int, Path],
    out_path: Path,
    *,
    settings: Settings,
    duration: float,
    chunk_seconds: float,
    workers: int = 1,
) -> RenderOutcome:
    chunks = plan(spec, duration, chunk_seconds)
    slots = asyncio.Semaphore(workers)

    async def one(chunk: Chunk) -> Path:
        async with slots:
            part = chunk_spec(spec, chunk)
            return await render_part(
                part, sources, chunk_path(out_path, chunk), settings=settings, tracks="video"
            )

    sound_path = out_path.with_name(f"{out_path.stem}.sound.m4a")
    try:
        paths = await asyncio.gather(*(one(chunk) for chunk in chunks))
        sound = await render_sound(spec, sources, sound_path, settings)
        return await join_parts(spec, list(paths), sound, out_path, sources=sources, settings=settings)
    finally:
        for chunk in chunks:
            chunk_path(out_path, chunk).unlink(missing_ok=True)
        sound_path.unlink(missing_ok=True)


async def render_sound(
    spec: VideoSpec, sources: Mapping[int, Path], out: Path, settings: Settings
) -> Path | None:
    """The whole timeline's sound, or None when nothing is audible."""
    try:
        return await render_part(spec, sources, out, settings=settings, tracks="audio")
    except Silent:
        return None
