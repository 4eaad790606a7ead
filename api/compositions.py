"""A composition as an ordinary video spec, and a composition job's state as the compositions API
shows it. Pure: no I/O, so the whole contract is unit-tested.

Translation: clips become video elements on track 1 in list order (a clip's `transition_in` is the
spec's transition from the clip before; on the first clip, a fade in from black); text overlays
become text elements on track 2, so their text never enters the filter graph; music becomes a
looped audio element cut at the video's end and the voice-over an audio element that ducks it.
Every URL stays an element source, fetched under the same rules as any other. Elements are named
by their place in the composition ('clips.1'), so a render error names what the user wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from schemas.compositions import (
    CompositionClip,
    CompositionError,
    CompositionMetadata,
    CompositionOutputInfo,
    CompositionOverlay,
    CompositionProgress,
    CompositionRequest,
    CompositionStatus,
    StageTiming,
    WsCompleted,
    WsFailed,
    WsMessage,
    WsProgress,
)
from schemas.errors import ErrorCode, JobError
from schemas.events import PIPELINE, JobState
from schemas.spec import (
    RESOLUTION_PRESETS,
    AudioElement,
    Element,
    Shadow,
    TextElement,
    Transition,
    VideoElement,
    VideoSpec,
)
from schemas.views import iso

COMPOSITION_PREFIX = "comp_"
CLIP_TRACK, OVERLAY_TRACK = 1, 2
MUSIC_FADE_SECONDS = 1.0
EPSILON = 1e-6
SCHEMES = ("http", "https", "s3")
IMAGES = {"jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff", "svg", "heic", "heif", "avif", "ico"}
SOUNDS = {"mp3", "wav", "aac", "m4a", "flac", "ogg", "oga", "opus", "wma", "aiff", "aif", "mid", "midi"}
DOCUMENTS = {
    "txt",
    "html",
    "htm",
    "pdf",
    "json",
    "xml",
    "csv",
    "zip",
    "gz",
    "tar",
    "doc",
    "docx",
    "m3u8",
    "mpd",
}
NOT_VIDEO = (IMAGES - {"gif"}) | SOUNDS | DOCUMENTS  # an animated GIF decodes as video
NOT_SOUND = IMAGES | DOCUMENTS
# What the compositions API calls each stage, after the seed contract's names.
STAGE_NAMES = {
    "accepted": "queued",
    "validate": "validating",
    "fetch": "downloading",
    "render": "encoding",
    "upload": "uploading",
    "notify": "finalizing",
}
# Our specific failure codes under the compositions API's broader ones; the specific one is the `cause`.
BROADER_CODES = {
    ErrorCode.FFMPEG_ERROR: ErrorCode.PROCESSING_FAILED,
    ErrorCode.MEMORY_LIMIT_EXCEEDED: ErrorCode.PROCESSING_FAILED,
    ErrorCode.INTERNAL_ERROR: ErrorCode.PROCESSING_FAILED,
    ErrorCode.S3_UPLOAD_FAILED: ErrorCode.STORAGE_ERROR,
    ErrorCode.S3_ACCESS_DENIED: ErrorCode.STORAGE_ERROR,
    ErrorCode.S3_BUCKET_NOT_FOUND: ErrorCode.STORAGE_ERROR,
}


def is_composition(job_id: str) -> bool:
    return job_id.startswith(COMPOSITION_PREFIX)


def field_problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def refuse(code: ErrorCode, what: str, problems: list[dict[str, str]]) -> JobError:
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
    return JobError(code, f"{what}: {summary}", {"fields": problems})


# --- formats -----------------------------------------------------------------------------------


def format_problem(url: str, refused: set[str], wanted: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # "http://[" (an unclosed IPv6 host): schemathesis found it answered 500
        return f"{url[:100]!r} is not a URL ({exc})"
    if parts.scheme.lower() not in SCHEMES:
        return f"{url[:100]!r} is not an http(s) or s3:// URL"
    extension = PurePosixPath(parts.path).suffix.lower().lstrip(".")
    if extension in refused:
        return f"a .{extension} file is not {wanted}"
    return None


def check_formats(request: CompositionRequest) -> None:
    """INVALID_CLIP_FORMAT for a URL that is clearly not what its place needs (by scheme or
    extension); anything else is known only once fetched and probed."""
    urls = [(f"clips.{n}.url", clip.url, NOT_VIDEO, "a video") for n, clip in enumerate(request.clips)]
    if request.audio is not None:
        for name in ("music_url", "voiceover_url"):
            url = getattr(request.audio, name)
            if url is not None:
                urls.append((f"audio.{name}", url, NOT_SOUND, "audio (or a video with sound)"))
    problems = [
        field_problem(field, problem)
        for field, url, refused, wanted in urls
        if (problem := format_problem(url, refused, wanted)) is not None
    ]
    if problems:
        raise refuse(ErrorCode.INVALID_CLIP_FORMAT, "unsupported clip format", problems)


# --- the timeline ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """A clip on the output timeline; `end` None: its own length, unknown until it is probed."""

    start: float
    end: float | None


def _clip_problems(n: int, clip: CompositionClip) -> list[dict[str, str]]:
    path = f"clips.{n}"
    problems = [
        field_problem(f"{path}.{name}", f"must not be negative; got {value:g}")
        for name in ("start_time", "end_time", "trim_start", "trim_end")
        if (value := getattr(clip, name)) is not None and value < 0
    ]
    if clip.trim_end is not None and clip.trim_end <= clip.trim_start:
        problems.append(
            field_problem(
                f"{path}.trim_end", f"{clip.trim_end:g} s is not after trim_start ({clip.trim_start:g} s)"
            )
        )
    return problems


def _overlaps(start: float, before: Placed) -> bool:
    """A clip of unknown length needs the next one to start after it does, to play at all."""
    if before.end is None:
        return start <= before.start + EPSILON
    return start < before.end - EPSILON


def place_clips(clips: list[CompositionClip]) -> list[Placed]:
    """Each clip's interval on the output, in list order and without overlaps; INVALID_TIMELINE
    with every problem's field path otherwise."""
    problems: list[dict[str, str]] = []
    placed: list[Placed] = []
    for n, clip in enumerate(clips):
        path, before = f"clips.{n}", placed[-1] if placed else None
        own = _clip_problems(n, clip)
        problems += own
        start = clip.start_time
        if start is None:
            if before is not None and before.end is None:
                problems.append(
                    field_problem(
                        f"{path}.start_time",
                        f"needed: clips.{n - 1} has no end_time or trim_end, so where it ends is not known "
                        "before its video is fetched",
                    )
                )
            start = 0.0 if before is None else before.start if before.end is None else before.end
        elif before is not None and start >= 0 and _overlaps(start, before):
            problems.append(
                field_problem(
                    f"{path}.start_time",
                    f"{start:g} s overlaps clips.{n - 1} (from {before.start:g} s to "
                    f"{'its end' if before.end is None else f'{before.end:g} s'}); clips play in order",
                )
            )
        trimmed = None if clip.trim_end is None else clip.trim_end - clip.trim_start
        end = clip.end_time
        if end is not None and end <= start + EPSILON:
            problems.append(
                field_problem(f"{path}.end_time", f"{end:g} s is not after start_time ({start:g} s)")
            )
        elif end is not None and trimmed is not None and end - start > trimmed + EPSILON and not own:
            problems.append(
                field_problem(
                    f"{path}.end_time",
                    f"the clip would play {end - start:g} s but trim_start..trim_end keeps {trimmed:g} s",
                )
            )
        elif end is None and trimmed is not None:
            end = start + trimmed
        placed.append(Placed(start, end))
    if problems:
        raise refuse(ErrorCode.INVALID_TIMELINE, "invalid timeline", problems)
    # a clip of unknown length followed by a placed clip plays until that one starts, at most
    return [
        Placed(p.start, following.start) if p.end is None and following is not None else p
        for p, following in zip(placed, [*placed[1:], None], strict=True)
    ]


def _check_overlays(request: CompositionRequest, video_end: float | None) -> None:
    problems: list[dict[str, str]] = []
    for n, overlay in enumerate(request.overlays):
        path = f"overlays.{n}"
        if overlay.start_time < 0:
            problems.append(
                field_problem(f"{path}.start_time", f"must not be negative; got {overlay.start_time:g}")
            )
        elif video_end is not None and overlay.start_time >= video_end - EPSILON:
            problems.append(
                field_problem(
                    f"{path}.start_time",
                    f"{overlay.start_time:g} s is not before the video ends ({video_end:g} s)",
                )
            )
        if overlay.duration is not None and overlay.duration <= 0:
            problems.append(field_problem(f"{path}.duration", f"must be positive; got {overlay.duration:g}"))
    if problems:
        raise refuse(ErrorCode.INVALID_TIMELINE, "invalid timeline", problems)


# --- translation -------------------------------------------------------------------------------


def _clip_element(n: int, clip: CompositionClip, placed: Placed) -> VideoElement:
    transition = clip.transition_in if clip.transition_in != "none" else None
    return VideoElement(
        id=f"clips.{n}",
        type="video",
        source=clip.url.strip(),
        track=CLIP_TRACK,
        time=placed.start,
        duration=None if placed.end is None else placed.end - placed.start,
        trim_start=clip.trim_start or None,
        trim_end=clip.trim_end,
        fade_in=clip.transition_duration if transition is not None and n == 0 else 0.0,
        transition=(
            Transition(type=transition, duration=clip.transition_duration)
            if transition is not None and n > 0
            else None
        ),
    )


def _check_positions(request: CompositionRequest, width: int, height: int) -> None:
    """A pixel position must be inside the output, or the text could not show."""
    problems = [
        field_problem(
            f"overlays.{n}.position.{axis}", f"must be 'center' or 0 to {size - 1} pixels; got {value:g}"
        )
        for n, overlay in enumerate(request.overlays)
        for axis, value, size in (("x", overlay.position.x, width), ("y", overlay.position.y, height))
        if isinstance(value, float) and not 0 <= value < size
    ]
    if problems:
        raise refuse(ErrorCode.INVALID_INPUT, "invalid overlay position", problems)


def _overlay_element(n: int, overlay: CompositionOverlay, width: int, height: int) -> TextElement:
    """A text element whose box runs from a pixel position to the output's far edge, the text at
    that corner; on a 'center' axis the box is the whole output and the text centered in it."""
    x, y, style = overlay.position.x, overlay.position.y, overlay.style
    at_x, at_y = isinstance(x, float), isinstance(y, float)
    return TextElement(
        id=f"overlays.{n}",
        type="text",
        text=overlay.content,
        track=OVERLAY_TRACK,
        time=overlay.start_time,
        duration=overlay.duration,
        x=x if at_x else None,
        y=y if at_y else None,
        width=width - x if isinstance(x, float) else width,
        height=height - y if isinstance(y, float) else height,
        align="left" if at_x else "center",
        vertical_align="top" if at_y else "center",
        font_family=style.font,
        font_size=style.size,
        color=style.color,
        shadow=Shadow() if style.shadow else None,
    )


def to_spec(request: CompositionRequest) -> VideoSpec:
    """The composition as the video spec the pipeline renders; INVALID_CLIP_FORMAT,
    INVALID_TIMELINE or INVALID_INPUT (with field paths) when it cannot be one."""
    check_formats(request)
    placed = place_clips(request.clips)
    video_end = placed[-1].end
    _check_overlays(request, video_end)
    width, height = RESOLUTION_PRESETS[request.output.resolution]
    _check_positions(request, width, height)
    elements: list[Element] = [
        _clip_element(n, clip, p) for n, (clip, p) in enumerate(zip(request.clips, placed, strict=True))
    ]
    elements += [_overlay_element(n, overlay, width, height) for n, overlay in enumerate(request.overlays)]
    audio = request.audio
    if audio is not None and audio.music_url is not None:
        elements.append(
            AudioElement(
                id="audio.music",
                type="audio",
                source=audio.music_url.strip(),
                volume=audio.music_volume,
                duration_mode="loop",
                fade_in=MUSIC_FADE_SECONDS,
                fade_out=MUSIC_FADE_SECONDS,
            )
        )
    if audio is not None and audio.voiceover_url is not None:
        elements.append(
            AudioElement(
                id="audio.voiceover",
                type="audio",
                source=audio.voiceover_url.strip(),
                volume=audio.voiceover_volume,
                voiceover=True,
            )
        )
    output = request.output
    return VideoSpec(
        output_format=output.format,
        resolution=output.resolution,
        fps=output.fps,
        crf=output.crf,
        duration=video_end,
        thumbnail=True,
        elements=elements,
    )


# --- views -------------------------------------------------------------------------------------


def _iso_or_none(seconds: float | None) -> str | None:
    return None if seconds is None else iso(seconds)


def created_at(state: JobState) -> str | None:
    return _iso_or_none(state.submitted_at_ms / 1000 if state.submitted_at_ms else state.started_at)


def progress(state: JobState) -> CompositionProgress:
    stage = state.status if state.terminal else STAGE_NAMES.get(state.stage, state.stage)
    return CompositionProgress(
        stage=stage, percentage=round(state.progress_percent, 1), message=state.current_step
    )


def error_of(state: JobState) -> CompositionError | None:
    if state.status not in ("failed", "cancelled"):
        return None
    if state.error is None:
        return CompositionError(code=ErrorCode.CANCELLED, message="the composition was cancelled")
    code = state.error.code
    return CompositionError(
        code=BROADER_CODES.get(code, code),
        message=state.error.message,
        cause=code if code in BROADER_CODES else None,
    )


def status_view(state: JobState, output_url: str | None, thumbnail_url: str | None) -> CompositionStatus:
    return CompositionStatus(
        composition_id=state.job_id,
        status=state.status,
        progress=progress(state),
        created_at=created_at(state),
        updated_at=iso(state.updated_at),
        output_url=output_url,
        thumbnail_url=thumbnail_url,
        error=error_of(state),
    )


def metadata_view(state: JobState, output_url: str | None, thumbnail_url: str | None) -> CompositionMetadata:
    """What is known of the job: its stages' timings, and once rendered, each input and the output
    as probed and the encoder settings used (recorded on the render's finished event)."""
    stages = {
        name: StageTiming(
            started_at=_iso_or_none(record.started_at),
            finished_at=_iso_or_none(record.finished_at),
            seconds=(
                round(record.finished_at - record.started_at, 3)
                if record.started_at is not None and record.finished_at is not None
                else None
            ),
            attempts=record.attempts,
            worker=record.worker,
        )
        for name in PIPELINE
        if (record := state.stages.get(name)) is not None
    }
    rendered = state.stages["render"].rendered if "render" in state.stages else None
    output = None
    if rendered is not None and rendered.output is not None:
        output = CompositionOutputInfo(
            **rendered.output.model_dump(), url=output_url, thumbnail_url=thumbnail_url
        )
    return CompositionMetadata(
        composition_id=state.job_id,
        status=state.status,
        created_at=created_at(state),
        processing_seconds=round(state.processing_time_seconds, 3),
        stages=stages,
        inputs=rendered.inputs if rendered is not None else [],
        output=output,
        encoder=rendered.encoding if rendered is not None else None,
        reuse=rendered.reuse if rendered is not None else None,
    )


def ws_message(state: JobState, output_url: str | None, thumbnail_url: str | None) -> WsMessage:
    """One WebSocket message: progress while the job runs, then `completed` or `failed`."""
    timestamp = iso(state.updated_at)
    if state.status == "completed" and output_url is not None:
        completed = WsCompleted(
            composition_id=state.job_id,
            output_url=output_url,
            thumbnail_url=thumbnail_url,
            timestamp=timestamp,
        )
        return WsMessage(type="completed", data=completed)
    error = error_of(state)
    if error is not None:
        failed = WsFailed(code=error.code, message=error.message, cause=error.cause, timestamp=timestamp)
        return WsMessage(type="failed", data=failed)
    step = progress(state)
    return WsMessage(
        type="progress",
        data=WsProgress(
            stage=step.stage, percentage=step.percentage, message=step.message, timestamp=timestamp
        ),
    )
