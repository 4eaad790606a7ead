"""What a media file holds, read once with PyAV (libav* in-process; the static FFmpeg has no ffprobe).

Sizes are display sizes: rotation and non-square pixels are applied, because that is what the
compiler lays out. The first video frame is decoded (cheap) since rotation side data, including
EXIF orientation of stills, is only exposed on frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av

from schemas.errors import ErrorCode, JobError

_PLAYLIST_MAGIC = (b"#EXTM3U", b"ffconcat", b"#EXT-X")
_PLAYLIST_FORMATS = {"hls", "dash", "concat", "webm_dash_manifest", "imf"}
_IMAGE_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif", "apng")


ALPHA_FORMATS = ("yuva", "rgba", "bgra", "argb", "abgr", "gbrap", "ya", "pal8")


@dataclass(frozen=True)
class MediaInfo:
    kind: Literal["video", "image", "audio"]
    format_name: str
    width: int | None
    height: int | None
    duration: float | None
    fps: float | None
    has_video: bool
    has_audio: bool
    rotation: int
    video_codec: str | None
    audio_codec: str | None
    pix_fmt: str | None
    sample_aspect_ratio: tuple[int, int] | None
    frame_count: int | None
    opaque: bool = False  # a still whose pixel format has alpha, every pixel of it opaque

    @property
    def has_alpha(self) -> bool:
        fmt = self.pix_fmt or ""
        return fmt.startswith(ALPHA_FORMATS) and not self.opaque


def probe(path: Path) -> MediaInfo:
    """Probe `path`; JobError(INVALID_INPUT) when it is not readable media.

    Playlists and manifests (HLS, DASH, concat) are refused: they name other files or URLs,
    and a source must be the media itself.
    """
    try:
        with path.open("rb") as head:
            start = head.read(512)
        if start.lstrip().startswith(_PLAYLIST_MAGIC) or b"<MPD" in start:
            raise JobError(ErrorCode.INVALID_INPUT, "a playlist or manifest is not a media file")
        with av.open(str(path), options={"protocol_whitelist": "file"}) as container:
            if container.format.name in _PLAYLIST_FORMATS:
                raise JobError(ErrorCode.INVALID_INPUT, "a playlist or manifest is not a media file")
            return _probe_container(container)
    except JobError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, StopIteration) as exc:
        raise JobError(ErrorCode.INVALID_INPUT, f"not a readable media file: {exc}") from exc


def _probe_container(container: av.container.InputContainer) -> MediaInfo:
    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    if video is None and audio is None:
        raise JobError(ErrorCode.INVALID_INPUT, "the file has no video or audio stream")
    format_name = container.format.name
    duration = _duration(container, video, audio)
    if video is None:
        assert audio is not None
        return MediaInfo(
            kind="audio", format_name=format_name, width=None, height=None, duration=duration, fps=None,
            has_video=False, has_audio=True, rotation=0, video_codec=None,
            audio_codec=audio.codec_context.name, pix_fmt=None, sample_aspect_ratio=None, frame_count=None,
        )  # fmt: skip

    ctx = video.codec_context
    first = next(container.decode(video), None)
    if first is None:
        raise JobError(ErrorCode.INVALID_INPUT, "the video stream has no decodable frame")
    coded_w, coded_h = first.width, first.height
    if coded_w < 1 or coded_h < 1:
        raise JobError(ErrorCode.INVALID_INPUT, f"the picture has no size ({coded_w}x{coded_h})")
    rotation = round(first.rotation or 0) % 360
    sar = video.sample_aspect_ratio or ctx.sample_aspect_ratio
    sar_pair = (sar.numerator, sar.denominator) if sar and sar.numerator > 0 else None
    width = coded_w
    if sar_pair and sar_pair != (1, 1):
        width = max(1, round(coded_w * sar_pair[0] / sar_pair[1]))
    height = coded_h
    if rotation in (90, 270):
        width, height = height, width

    frames = video.frames or None
    is_still = (
        format_name in _IMAGE_FORMATS
        and (frames is None or frames <= 1)
        and not _is_animated(format_name, duration, video)
    )
    rate = video.average_rate or video.base_rate
    fps = float(rate) if rate and not is_still else None
    return MediaInfo(
        kind="image" if is_still else "video",
        format_name=format_name,
        width=width,
        height=height,
        duration=None if is_still else duration,
        fps=fps,
        has_video=True,
        has_audio=audio is not None,
        rotation=rotation,
        video_codec=ctx.name,
        audio_codec=audio.codec_context.name if audio else None,
        pix_fmt=_pix_fmt(video, first.format.name),
        sample_aspect_ratio=sar_pair,
        frame_count=None if is_still else frames,
        opaque=is_still and _opaque(first),
    )


def _opaque(frame: av.VideoFrame) -> bool:
    """Whether a decoded still has alpha in its format only (every pixel opaque): drawn as an
    opaque picture it needs no alpha plane, and may be the frame's backdrop."""
    if not frame.format.name.startswith(ALPHA_FORMATS):
        return False
    return bool(frame.to_ndarray(format="rgba")[..., 3].min() == 255)


def _pix_fmt(video: av.VideoStream, decoded: str) -> str:
    """The decoded format, with the alpha FFmpeg's native VP8/VP9 decoders drop put back."""
    alpha_mode = {k.lower(): v for k, v in video.metadata.items()}.get("alpha_mode")
    if alpha_mode == "1" and decoded == "yuv420p":
        return "yuva420p"  # WebM side-channel alpha: only libvpx decodes it
    return decoded


def _is_animated(format_name: str, duration: float | None, video: av.VideoStream) -> bool:
    """A GIF/APNG/WebP with more than one frame plays like a video."""
    if format_name not in ("gif", "apng", "webp_pipe"):
        return False
    if video.frames and video.frames > 1:
        return True
    rate = video.average_rate
    return bool(duration and rate and duration > 1.5 / float(rate))


def _duration(
    container: av.container.InputContainer, video: av.VideoStream | None, audio: av.AudioStream | None
) -> float | None:
    """Longest stream duration, else the container's; None when unknown."""
    best: float | None = None
    for stream in (video, audio):
        if stream is not None and stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * Fraction(stream.time_base))
            best = seconds if best is None else max(best, seconds)
    if best is None and container.duration is not None:
        best = container.duration / 1_000_000
    return best if best and best > 0 else None
