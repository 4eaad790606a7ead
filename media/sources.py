"""Everything a render reads, on local disk: the spec's files fetched (media.fetch: SSRF guard,
size caps, screening, the shared source cache) and its speech spoken and transcribed
(media.voicing). What the fetch stage of a job runs, and what the studio's previews run in the API
process (media.preview), so both meet the same rules."""

from __future__ import annotations

import asyncio
from pathlib import Path

from media.builders.speech import voiced_elements
from media.fetch import fetch_sources
from media.voicing import prepare_voices
from schemas.elements import source_of
from schemas.events import SourceFile
from schemas.settings import Settings
from schemas.spec import VideoSpec
from storage.s3 import s3_client


async def gather_sources(spec: VideoSpec, directory: Path, settings: Settings) -> dict[int, SourceFile]:
    """Every source of `spec` downloaded into `directory`, and its voices made beside them, keyed
    as the renderer reads them (element index, or media.fonts.font_key for a font)."""
    wants_s3 = any((source_of(p.element) or "").startswith("s3://") for p in spec.placed)
    client = await asyncio.to_thread(s3_client, settings) if wants_s3 else None
    fetched = await fetch_sources(spec, directory, settings, s3_client=client)
    if voiced_elements(spec):
        cache = client or await asyncio.to_thread(s3_client, settings)
        local = {index: Path(source.path) for index, source in fetched.items()}
        voiced = await asyncio.to_thread(prepare_voices, spec, local, directory / "voices", settings, cache)
        fetched |= {
            index: SourceFile(url=made.url, path=str(made.path), size_bytes=made.path.stat().st_size)
            for index, made in voiced.items()
        }
    return fetched
