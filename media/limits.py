"""Service limits checked at validation, before any work is queued."""

from __future__ import annotations

from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings
from schemas.spec import VideoSpec


def check_limits(spec: VideoSpec, settings: Settings) -> None:
    if spec.duration is not None and spec.duration > settings.max_output_duration_sec:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"duration {spec.duration:g}s exceeds the limit of {settings.max_output_duration_sec:g}s",
            {"field": "duration", "limit": settings.max_output_duration_sec},
        )
    for index, element in enumerate(spec.elements):
        if (
            isinstance(element.duration, float)
            and element.time + element.duration > settings.max_output_duration_sec
        ):
            raise JobError(
                ErrorCode.INVALID_INPUT,
                f"{spec.element_label(index)} ends at {element.time + element.duration:g}s, past the "
                f"limit of {settings.max_output_duration_sec:g}s",
                {"field": f"elements.{index}.duration", "limit": settings.max_output_duration_sec},
            )
