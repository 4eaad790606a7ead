"""A chunked render on this machine: chunks rendered `workers` at a time, the sound once, then
joined. With a chunk cache (media.chunkcache), a chunk whose key (media.chunkkey) is stored is
copied instead of rendered, and each chunk rendered is stored. The distributed render stage does
the same with chunks spread over the worker group; this is what a lone worker runs, and what tests
and benches compare with the one-pass render."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from media.chunkcache import ChunkStore
from media.chunkkey import CacheKeys, chunk_keys
from media.chunks import Chunk, chunk_spec, plan
from media.compiler import Silent
from media.ffmpeg_bin import ffmpeg_bin
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
    cache: ChunkStore | None = None,
    keys: CacheKeys | None = None,
) -> RenderOutcome:
    """`keys`: the chunks' and the sound's keys in `cache` when known already (else computed here)."""
    chunks = plan(spec, duration, chunk_seconds)
    out_path.parent.mkdir(parents=True, exist_ok=True)  # where cached chunks are copied to
    if cache is not None and keys is None:
        keys = await asyncio.to_thread(cache_keys, spec, sources, chunks, settings)
    slots = asyncio.Semaphore(workers)
    reused: list[Chunk] = []

    async def one(chunk: Chunk) -> Path:
        path = chunk_path(out_path, chunk)
        key = keys.chunks[chunk.index] if keys is not None else None
        if cache is not None and key is not None and await asyncio.to_thread(cache.fetch, key, path):
            reused.append(chunk)
            return path
        async with slots:
            part = chunk_spec(spec, chunk)
            await render_part(part, sources, path, settings=settings, tracks="video")
        if cache is not None and key is not None:
            await asyncio.to_thread(cache.keep, key, path)
        return path

    sound_path = out_path.with_name(f"{out_path.stem}.sound.m4a")
    try:
        # The sound beside the chunks: its FFmpeg fills the cores a chunk's startup leaves idle.
        sound_key = keys.sound if keys else None
        sounding = asyncio.create_task(
            render_sound(spec, sources, sound_path, settings, cache=cache, key=sound_key)
        )
        try:
            paths = await asyncio.gather(*(one(chunk) for chunk in chunks))
        except BaseException:
            sounding.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await sounding
            raise
        sound = await sounding
        outcome = await join_parts(spec, list(paths), sound, out_path, sources=sources, settings=settings)
        return replace(
            outcome,
            chunks_reused=len(reused),
            chunks_rendered=len(chunks) - len(reused),
            reused_seconds=sum(chunk.duration for chunk in reused),
        )
    finally:
        for chunk in chunks:
            chunk_path(out_path, chunk).unlink(missing_ok=True)
        sound_path.unlink(missing_ok=True)


def cache_keys(
    spec: VideoSpec, sources: Mapping[int, Path], chunks: list[Chunk], settings: Settings
) -> CacheKeys:
    """The chunks' and the sound's keys in the chunk cache (blocking: probes and hashes the sources)."""
    return chunk_keys(
        spec, sources, chunks, ffmpeg=ffmpeg_bin(settings), max_duration=settings.max_output_duration_sec
    )


async def render_sound(
    spec: VideoSpec,
    sources: Mapping[int, Path],
    out: Path,
    settings: Settings,
    *,
    cache: ChunkStore | None = None,
    key: str | None = None,
) -> Path | None:
    """The whole timeline's sound, or None when nothing is audible; copied from `cache` when
    stored under `key` there, else rendered and stored."""
    if cache is not None and key is not None and await asyncio.to_thread(cache.fetch, key, out):
        return out
    try:
        sound = await render_part(spec, sources, out, settings=settings, tracks="audio")
    except Silent:
        return None
    if cache is not None and key is not None:
        await asyncio.to_thread(cache.keep, key, sound)
    return sound
