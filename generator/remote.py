"""A text-to-video model behind an HTTP endpoint (PROMPT_GENERATOR=http).

The contract: POST PROMPT_GENERATOR_URL with JSON `{"prompt", "style", "duration", "aspectRatio",
"width", "height"}`; answer 200 with `{"video_url": "https://…"}` within NETWORK_TIMEOUT. The
video is then fetched by the pipeline like any source (SSRF rules, size limits) and rendered at
the asked size (cover-fitted) and duration (looped when shorter), so the job ends like any other,
with its result in our bucket.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, Field, ValidationError

from media.retry import describe
from schemas.errors import ErrorCode, JobError
from schemas.events import AspectRatio, PromptInfo
from schemas.settings import Settings
from schemas.spec import VideoSpec

FPS = 30.0


class GeneratedVideo(BaseModel):
    video_url: str = Field(..., pattern=r"\S", max_length=4096)


class RemoteGenerator:
    def __init__(self, settings: Settings, sizes: dict[AspectRatio, tuple[int, int]]) -> None:
        assert settings.prompt_generator_url is not None
        self._url = settings.prompt_generator_url
        self._timeout = settings.network_timeout
        self._sizes = sizes

    async def _video_url(self, prompt: PromptInfo, width: int, height: int) -> str:
        body = {
            "prompt": prompt.prompt,
            "style": prompt.style,
            "duration": prompt.duration,
            "aspectRatio": prompt.aspect_ratio,
            "width": width,
            "height": height,
        }
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(self._url, json=body)
                response.raise_for_status()
                return GeneratedVideo.model_validate(response.json()).video_url
        except httpx.TimeoutException as exc:
            raise JobError(
                ErrorCode.NETWORK_TIMEOUT, f"the prompt generator did not answer: {describe(exc)}"
            ) from exc
        except (httpx.HTTPError, ValueError, ValidationError) as exc:
            raise JobError(
                ErrorCode.PROCESSING_FAILED, f"the prompt generator failed: {describe(exc)}"
            ) from exc

    async def spec(self, prompt: PromptInfo) -> VideoSpec:
        width, height = self._sizes[prompt.aspect_ratio]
        video = {
            "id": "generated",
            "type": "video",
            "source": await self._video_url(prompt, width, height),
            "fit_mode": "cover",
            "duration_mode": "loop",
        }
        return VideoSpec.model_validate(
            {"width": width, "height": height, "fps": FPS, "duration": prompt.duration, "elements": [video]}
        )
