"""The body of POST /api/v1/videocreate: the video spec plus delivery options."""

from __future__ import annotations

from pydantic import Field

from schemas.spec import VideoSpec


class VideoCreateRequest(VideoSpec):
    callback_url: str | None = Field(
        None,
        max_length=4096,
        description="POSTed the job's result (signed with X-Videogen-Signature) when it ends.",
    )

    def spec(self) -> VideoSpec:
        return VideoSpec.model_validate(self.model_dump(exclude={"callback_url"}))
