"""The chunk task of a chunked render: one window of a job's picture, for any worker to render."""

from __future__ import annotations

from pydantic import BaseModel, Field

from schemas.events import JobContext


class ChunkTask(BaseModel):
    """Render the picture of [start, start + duration) of the job's spec and store it under
    `key`; `stop_key` appears when the job no longer needs it (cancelled, failed or joined)."""

    ctx: JobContext
    attempt_id: str = Field(description="The render attempt the chunk belongs to.")
    index: int = Field(ge=0)
    count: int = Field(ge=1)
    start: float = Field(ge=0)
    duration: float = Field(gt=0)
    key: str
    stop_key: str
    failed_key: str = Field(description="Where the chunk's worker writes why it could not render it.")
    alive_key: str | None = Field(
        None,
        description="Where the chunk's worker writes the time every few seconds while it works on it: "
        "the render stage publishes again a chunk that nobody works on.",
    )
    cache_key: str | None = Field(
        None,
        description="The chunk's key in the chunk cache (media.chunkkey): its worker copies a chunk "
        "stored there instead of rendering it, and stores what it renders. None: the cache is off.",
    )
