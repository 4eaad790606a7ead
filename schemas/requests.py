"""The body of POST /api/v1/videocreate: a video spec plus delivery options, or a saved template
and the values to fill it with."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ModelWrapValidatorHandler, RootModel, model_validator

from schemas.spec import VideoSpec
from schemas.templates import TemplateRender


class VideoCreateRequest(VideoSpec):
    callback_url: str | None = Field(
        None,
        max_length=4096,
        description="POSTed the job's result (signed with X-Videogen-Signature) when it ends.",
    )

    def spec(self) -> VideoSpec:
        return VideoSpec.model_validate(self.model_dump(exclude={"callback_url"}))


class VideoCreateBody(RootModel[VideoCreateRequest | TemplateRender]):
    """A whole spec, or `template_id` with its merge values. Told apart by `template_id` before
    validating, so each kind's errors name its own fields (a plain union would report every field
    against both kinds)."""

    @model_validator(mode="wrap")
    @classmethod
    def _either(cls, data: Any, _: ModelWrapValidatorHandler[VideoCreateBody]) -> VideoCreateBody:
        if isinstance(data, VideoCreateBody):
            return data
        kind = TemplateRender if isinstance(data, dict) and "template_id" in data else VideoCreateRequest
        return cls.model_construct(root=kind.model_validate(data))
