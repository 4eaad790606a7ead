"""A partly cached chunked render shows exactly what the same render with the cache off shows
(decoded frames identical) and is within a one-pass render's quality (PSNR >= 45 dB); only the
chunks a merge value reaches are rendered again, and a tenant's private source never serves
another's render unless the bytes are the same."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

import agents.stages.chunked as stage
from agents.stages.runtime import new_attempt_id
from media.chunkcache import DirectoryStore
from media.chunked import render_chunked
from media.render import RenderOutcome
from schemas.events import RenderedFile
from schemas.spec import VideoSpec
from tests.engine.conftest import SETTINGS, Media, Renderer
from tests.media import psnr
from tests.unit.stage_fakes import color_ctx, make_runtime

SECONDS = 8.0  # four 2 s chunks at 12 fps (GOP 2 s)


def _spec(name: str) -> dict[str, Any]:
    """A template filled: a name over a photo for the first 3 s (chunks 0 and 1), a body shared."""
    return {
        "width": 320,
        "height": 240,
        "fps": 12,
        "duration": SECONDS,
        "elements": [
            {"type": "video", "source": "body", "duration_mode": "loop", "fit_mode": "fill", "track": 0},
            {"type": "image", "source": "photo", "time": 0, "duration": 3, "width": "50%", "height": "50%",
             "fade_out": 0.5},
            {"type": "text", "text": f"Hello {name}", "time": 0, "duration": 3, "y": 180, "font_size": 28,
             "animations": [{"type": "fade", "time": "start", "duration": 0.5}]},
            {"type": "color", "color": "#ffff00", "track": 3, "width": 30, "height": 30, "y": 20,
             "x": [{"time": 0, "value": 0}, {"time": SECONDS, "value": 290}]},
            {"type": "audio", "source": "music", "fade_out": 1},
        ],
    }  # fmt: skip


def _chunked(
    spec: dict[str, Any], sources: dict[int, Path], out: Path, cache: DirectoryStore | None
) -> RenderOutcome:
    model = VideoSpec.model_validate(spec)
    return asyncio.run(
        render_chunked(model, sources, out, settings=SETTINGS, duration=SECONDS, chunk_seconds=2, cache=cache)
    )


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="yuv420p") for frame in container.decode(video=0)]


def _sources(media: Media, body: Path) -> dict[int, Path]:
    return {0: body, 1: media.color_png("purple", 160, 120), 4: media.tone(440, seconds=8)}


def test_a_partly_cached_render_equals_the_uncached_one(
    media: Media, render: Renderer, tmp_path: Path
) -> None:
    cache = DirectoryStore(tmp_path / "cache", 100.0)
    sources = _sources(media, media.video("teal", seconds=3, tone=None))
    first = _chunked(_spec("Ada"), sources, tmp_path / "ada.mp4", cache)
    assert (first.chunks_reused, first.chunks_rendered) == (0, 4)
    cached = _chunked(_spec("Bob"), sources, tmp_path / "bob_cached.mp4", cache)
    assert (cached.chunks_reused, cached.chunks_rendered) == (2, 2)  # the name shows in chunks 0 and 1
    assert cached.reused_seconds == 4.0
    uncached = _chunked(_spec("Bob"), sources, tmp_path / "bob_uncached.mp4", None)
    ours, theirs = _frames(cached.path), _frames(uncached.path)
    assert len(ours) == len(theirs) == 96
    assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))
    one_pass = Path(shutil.copy(render(_spec("Bob"), sources).path, tmp_path / "one_pass.mp4"))
    assert psnr(cached.path, one_pass) >= 45
    again = _chunked(_spec("Bob"), sources, tmp_path / "bob_again.mp4", cache)
    assert (again.chunks_reused, again.chunks_rendered) == (4, 0)


def test_tenants_share_chunks_only_of_byte_identical_sources(media: Media, tmp_path: Path) -> None:
    cache = DirectoryStore(tmp_path / "cache", 100.0)
    tenant_a = _sources(media, media.video("teal", seconds=3, tone=None))
    _chunked(_spec("Ada"), tenant_a, tmp_path / "a.mp4", cache)
    private_b = _sources(media, media.video("olive", seconds=3, tone=None))
    other = _chunked(_spec("Ada"), private_b, tmp_path / "b.mp4", cache)
    assert other.chunks_reused == 0  # same spec, different private bytes: nothing shared
    copied = tmp_path / "tenant_c_upload.mp4"
    shutil.copyfile(tenant_a[0], copied)
    same_bytes = _chunked(_spec("Ada"), {**tenant_a, 0: copied}, tmp_path / "c.mp4", cache)
    assert same_bytes.chunks_reused == 4  # byte-identical sources, same window spec


def test_a_lone_worker_splits_to_seed_the_cache_then_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DirectoryStore(tmp_path / "cache", 100.0)
    monkeypatch.setattr(stage, "chunk_store", lambda _settings: store)
    runtime, _ = make_runtime(tmp_path)  # no peers

    def run(job_id: str, seconds: float) -> RenderedFile | None:
        ctx = color_ctx(job_id, seconds)
        return asyncio.run(stage.render_chunked(ctx, {}, runtime, new_attempt_id()))

    assert run("vg_short", 8.0) is None  # two chunks, nothing cached: one pass is as fast
    seeded = run("vg_seed", 20.0)  # four chunks of 6 s: split to seed the cache
    assert seeded is not None and seeded.reuse is not None
    assert (seeded.reuse.chunks_reused, seeded.reuse.chunks_rendered) == (0, 4)
    again = run("vg_again", 20.0)
    assert again is not None and again.reuse is not None
    assert (again.reuse.chunks_reused, again.reuse.chunks_rendered) == (4, 0)
    assert again.reuse.rendered_pixel_seconds == 0.0 and again.reuse.reused_pixel_seconds > 0
    assert abs(again.duration_seconds - 20.0) < 0.1
