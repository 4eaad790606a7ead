"""POST /internal/v1/process-clips as ordinary video specs: one spec per clip. Pure, so the whole
translation is unit-tested.

A clip becomes a single video element fitted inside a 1280x720 frame (`fit_mode: contain`, the
spec's black background showing as bars), rendered at 30 fps with H.264 CRF 21 and AAC (the
clip's own sound, when it has any); `color_correct` sets the spec's colour preset, which the
render applies in its one FFmpeg pass; `thumbnail` stores a JPEG next to the output.
"""

from __future__ import annotations

from api.compositions import NOT_VIDEO, field_problem, format_problem, refuse
from schemas.errors import ErrorCode
from schemas.processing import DEFAULT_COLOR_PRESET, ProcessClipsRequest
from schemas.spec import VideoElement, VideoSpec

CLIP_PREFIX = "clip_"
NORMALIZED_RESOLUTION = "720p"  # 1280x720
NORMALIZED_FPS = 30.0
NORMALIZED_CRF = 21


def check_request(request: ProcessClipsRequest) -> None:
    """INVALID_INPUT for operations that cannot be done as asked, then INVALID_CLIP_FORMAT for a
    URL that is clearly not a video; each problem names its field."""
    operations = set(request.operations)
    problems = []
    if "normalize" not in operations:
        problems.append(
            field_problem(
                "operations",
                "must include 'normalize': every clip is re-encoded, and its output size must be known "
                "before the clip is fetched",
            )
        )
    if request.color_preset is not None and "color_correct" not in operations:
        problems.append(field_problem("color_preset", "is only used with the 'color_correct' operation"))
    if problems:
        raise refuse(ErrorCode.INVALID_INPUT, "invalid operations", problems)
    formats = [
        field_problem(f"clips.{n}", problem)
        for n, url in enumerate(request.clips)
        if (problem := format_problem(url, NOT_VIDEO, "a video")) is not None
    ]
    if formats:
        raise refuse(ErrorCode.INVALID_CLIP_FORMAT, "unsupported clip format", formats)


def clip_spec(request: ProcessClipsRequest, index: int) -> VideoSpec:
    """The spec that processes one clip of a checked request."""
    operations = set(request.operations)
    preset = (request.color_preset or DEFAULT_COLOR_PRESET) if "color_correct" in operations else None
    return VideoSpec(
        output_format="mp4",
        resolution=NORMALIZED_RESOLUTION,
        fps=NORMALIZED_FPS,
        crf=NORMALIZED_CRF,
        thumbnail="thumbnail" in operations,
        color_preset=preset,
        elements=[
            VideoElement(
                id=f"clips.{index}", type="video", source=request.clips[index].strip(), fit_mode="contain"
            )
        ],
    )
