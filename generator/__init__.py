"""Prompt-to-video (seed 002): a generator turns a prompt job into the video spec the pipeline
renders, so the job is an ordinary one (admission, stages, engine, storage). One small interface,
`PromptGenerator`, chosen by PROMPT_GENERATOR:

- `storyboard` (default, offline): the prompt cut into timed scenes (generator/storyboard.py),
  drawn as typography over moving backgrounds with the style's look and music bed
  (generator/styles.py, generator/scenes.py, generator/music.py);
- `http`: a text-to-video model behind PROMPT_GENERATOR_URL (generator/remote.py), whose video is
  fitted to the asked aspect ratio and duration.

Another generator is a class with `async def spec(self, prompt: PromptInfo) -> VideoSpec` and a
branch in `prompt_generator`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from generator.music import music_url
from generator.remote import RemoteGenerator
from generator.scenes import FPS, video_spec
from generator.storyboard import storyboard
from generator.styles import STYLES
from schemas.errors import ErrorCode, JobError
from schemas.events import AspectRatio, PromptInfo
from schemas.settings import Settings
from schemas.spec import VideoSpec

FRAME_SIZES: dict[AspectRatio, tuple[int, int]] = {
    "16:9": (1280, 720),
    "9:16": (720, 1280),
    "1:1": (720, 720),
    "4:3": (960, 720),
}


@runtime_checkable  # the API's dependency injection checks what it injects
class PromptGenerator(Protocol):
    async def spec(self, prompt: PromptInfo) -> VideoSpec:
        """The video to render for the prompt, exactly `duration` seconds at its aspect ratio;
        a JobError when there is none (the API answers it)."""
        ...


class StoryboardGenerator:
    """Offline: scenes from the prompt's phrases, in the style's look, with its music bed."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def spec(self, prompt: PromptInfo) -> VideoSpec:
        style = STYLES[prompt.style]
        width, height = FRAME_SIZES[prompt.aspect_ratio]
        try:
            scenes = storyboard(prompt.prompt, prompt.duration, style, FPS)
        except ValueError as exc:
            problem = {"field": "prompt", "message": str(exc)}
            raise JobError(ErrorCode.INVALID_INPUT, f"invalid prompt: {exc}", {"fields": [problem]}) from exc
        music = music_url(self._settings, style.music)
        return video_spec(scenes, style, width, height, prompt.duration, music)


def prompt_generator(settings: Settings) -> PromptGenerator:
    if settings.prompt_generator == "http":
        return RemoteGenerator(settings, FRAME_SIZES)
    return StoryboardGenerator(settings)
