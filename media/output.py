"""The output end of the command: final pixel format, encoders per format, and the remux fast path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from media.audio_output import audio_encoder_options, audio_encoding
from media.builders.kinds import kind_of
from media.color import color_filters
from media.graph import Filter, Stream, chain, f, join, split
from media.timeline import Timeline
from schemas.events import Encoding
from schemas.outputs import AUDIO_FORMATS, STILL_FORMATS
from schemas.spec import VideoSpec

# Restricts every input to local files: a playlist or concat file naming URLs is not followed.
INPUT_PROTOCOLS = "file,pipe"
INPUT_GUARD = ["-protocol_whitelist", INPUT_PROTOCOLS]
X264_CRF = {"low": 28, "medium": 23, "high": 18}
VP9_CRF = {"low": 40, "medium": 33, "high": 26}


def finish(spec: VideoSpec, video: Stream, duration: float, size: tuple[int, int] | None = None) -> Stream:
    """The composed stream in the pixel format the output wants, colour graded first when the
    spec names a preset. `size` scales a still last, once the frame is composed at the output's
    size (the studio's preview frames, media.preview), so its layout is the full render's."""
    grade = color_filters(spec.color_preset)
    if spec.output_format in STILL_FORMATS:
        at = min(spec.snapshot_time, max(0.0, duration - 1.0 / spec.fps))
        pix = "yuvj420p" if spec.output_format == "jpg" else "rgb24"
        scale = [f("scale", *size), f("setsar", 1)] if size is not None else []
        return chain(
            video,
            [f("trim", start=f"{at:.6f}"), f("setpts", "PTS-STARTPTS"), *grade, *scale, f("format", pix)],
        )
    grade += _draft(spec)
    if spec.output_format == "gif":
        frames, for_palette = split(chain(video, grade), 2)
        return join([frames, for_palette.filter("palettegen")], "paletteuse", dither="sierra2_4a")
    return chain(video, [*grade, f("format", "yuv420p")])


PREVIEW_SIDE = 640
PREVIEW_FPS = 15.0


def output_fps(spec: VideoSpec) -> float:
    return min(spec.fps, PREVIEW_FPS) if spec.preview else spec.fps


def _draft(spec: VideoSpec) -> list[Filter]:
    """A preview is the composed video made smaller and sparser at the very end, so its layout
    and timing are the full render's."""
    if not spec.preview:
        return []
    factor = min(1.0, PREVIEW_SIDE / max(spec.out_width, spec.out_height))
    width, height = (max(2, round(side * factor / 2) * 2) for side in (spec.out_width, spec.out_height))
    return [f("fps", f"{output_fps(spec):g}"), f("scale", width, height, flags="bilinear")]


X264_PRESET = "veryfast"
PREVIEW_CRF = 30


def encoding(spec: VideoSpec) -> Encoding:
    """The encoder settings of a spec's output: what `encoder_args` passes, and what a job's
    metadata reports."""
    fmt = spec.output_format
    if fmt in AUDIO_FORMATS:
        return audio_encoding(spec)
    if fmt in STILL_FORMATS:
        return Encoding(video_codec="mjpeg" if fmt == "jpg" else "png", fps=spec.fps)
    if fmt == "gif":
        return Encoding(video_codec="gif", fps=spec.fps)
    if fmt == "webm":
        crf = spec.crf if spec.crf is not None else VP9_CRF[spec.quality]
        return Encoding(
            video_codec="libvpx-vp9",
            crf=crf,
            fps=spec.fps,
            preset="realtime",
            audio_codec="libopus",
            audio_bitrate="128k",
        )
    crf = spec.crf if spec.crf is not None else X264_CRF[spec.quality]
    return Encoding(
        video_codec="libx264",
        crf=PREVIEW_CRF if spec.preview else min(crf, 51),
        fps=output_fps(spec),
        preset="ultrafast" if spec.preview else X264_PRESET,
        audio_codec="aac",
        audio_bitrate="192k" if spec.quality == "high" else "128k",
    )


GOP_SECONDS = 2.0


def gop_frames(spec: VideoSpec) -> int:
    return max(1, round(GOP_SECONDS * output_fps(spec)))


def encoder_options(spec: VideoSpec, duration: float, threads: int) -> dict[str, object]:
    """Output options of the rendered file (ffmpeg-python turns each into `-name value`)."""
    fmt, enc = spec.output_format, encoding(spec)
    if fmt in AUDIO_FORMATS:
        return audio_encoder_options(spec, duration)
    if fmt in STILL_FORMATS:
        return {"frames:v": 1, "update": 1, **({"q:v": 2} if fmt == "jpg" else {})}
    common: dict[str, object] = {"t": f"{duration:.6f}", "r": f"{output_fps(spec):g}", "threads": threads}
    if fmt == "gif":
        return {**common, "loop": 0, "f": "gif"}
    audio = {"c:a": enc.audio_codec, "b:a": enc.audio_bitrate}
    if fmt == "webm":
        video = {
            "c:v": enc.video_codec,
            "crf": enc.crf,
            "b:v": 0,
            "deadline": enc.preset,
            "cpu-used": 8,
            "row-mt": 1,
        }
        return {**common, **video, **audio, "f": "webm"}
    # A keyframe every GOP_SECONDS, and only there: the boundaries a chunked render cuts at, so its
    # chunks are coded like the one-pass render
    gop = gop_frames(spec)
    video = {
        "c:v": enc.video_codec,
        "preset": enc.preset,
        "crf": enc.crf,
        "pix_fmt": "yuv420p",
        "g": gop,
        "keyint_min": gop,
        "sc_threshold": 0,
    }
    return {**common, **video, **audio, "movflags": "+faststart", "f": "mov" if fmt == "mov" else "mp4"}


COPYABLE = {"mp4": ("h264", {"aac"}), "mov": ("h264", {"aac"}), "webm": ("vp9", {"opus", "vorbis"})}


def stream_copy_args(
    spec: VideoSpec, timeline: Timeline, sources: Mapping[int, Path], out_path: Path
) -> list[str] | None:
    """A remux when the output would equal the one input: no decode, no encode. What the element's
    fields allow is its kind's to say (`StreamCopy`: each field neutral or handled); the source's
    streams must already be what the output's encoder would make."""
    if len(spec.elements) != 1 or len(timeline.clips) != 1 or spec.output_format not in COPYABLE:
        return None
    clip = timeline.clips[0]
    element, info = clip.element, clip.info
    copy = kind_of(element).stream_copy
    codec, audio_codecs = COPYABLE[spec.output_format]
    if copy is None or info is None or info.kind != "video" or info.video_codec != codec:
        return None
    plain = (
        info.pix_fmt == "yuv420p"
        and info.rotation == 0
        and info.sample_aspect_ratio in (None, (1, 1))
        and (info.width, info.height) == (spec.out_width, spec.out_height)
        and info.fps is not None
        and abs(info.fps - spec.fps) < 0.01
        and copy.allows(clip)
        and timeline.duration <= clip.end + 1e-3  # no background shown after the source ends
        and not spec.loudness_normalization
        and spec.color_preset is None
        and spec.range is None
        and not spec.preview
    )
    keep_audio = info.has_audio and copy.keeps_sound(element)
    if not plain or (keep_audio and info.audio_codec not in audio_codecs):
        return None
    argv = [
        "-hide_banner",
        "-nostdin",
        "-y",
        *INPUT_GUARD,
        "-i",
        f"file:{sources[clip.index]}",
        "-map",
        "0:v:0",
    ]
    argv += ["-map", "0:a:0", "-c", "copy"] if keep_audio else ["-c", "copy"]
    if spec.output_format != "webm":
        argv += ["-movflags", "+faststart"]
    argv += ["-f", "mov" if spec.output_format == "mov" else spec.output_format]
    argv += ["-progress", "pipe:1", "-nostats", f"file:{out_path}"]
    return argv
