"""Screen every fetched file before the renderer sees it.

The container is recognised from its first bytes against a short allow-list, so text
formats that make FFmpeg open other files (HLS playlists, concat lists, DASH manifests)
are never handed to a demuxer, and the type must fit the element (no audio file as an
image). Image sizes are read from the header before anything is decoded, which stops
decompression bombs; `media.probe` then reads the streams, and timed media must have a
readable packet near its declared end, which catches truncated uploads.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import av

from media.probe import MediaInfo, probe
from media.subtitles import check_subtitles
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings

_HEAD = 1024 * 1024  # enough for a JPEG's EXIF/ICC segments before its frame header
_IMAGES = frozenset({"png_pipe", "jpeg_pipe", "gif", "webp_pipe", "bmp_pipe"})
_VIDEOS = frozenset({"mov", "matroska", "avi", "flv", "mpegts", "ogg"})
_AUDIOS = frozenset({"mp3", "aac", "flac", "wav", "ogg"})
_ACCEPTS: dict[str, frozenset[str]] = {
    "image": _IMAGES,
    "video": _VIDEOS | {"gif", "webp_pipe"},
    "audio": _AUDIOS | _VIDEOS,
    "font": frozenset({"font"}),
}
_ADVICE = {
    "image": "give a PNG, JPEG, GIF, WebP or BMP image",
    "video": "give an MP4, MOV, WebM/MKV, AVI, FLV, MPEG-TS or animated GIF video",
    "audio": "give an MP3, AAC, FLAC, WAV or Ogg file (or a video with sound)",
    "font": "give a TTF, OTF, TTC, WOFF or WOFF2 font",
}
_FONT_MAGIC = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf", b"wOFF", b"wOF2")
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _fail(label: str, problem: str, element_type: str, advice: str | None = None) -> JobError:
    advice = advice or _ADVICE.get(element_type, "give a supported media file")
    return JobError(ErrorCode.INVALID_INPUT, f"{label}: {problem}; {advice}.", {"element": label})


def screen_source(path: Path, element_type: str, label: str, settings: Settings) -> None:
    """Raise JobError(INVALID_INPUT) naming `label` unless `path` is safe, sound media of
    the kind `element_type` ("video", "image", "audio", "font" or "subtitles") needs: what the
    element's kind screens the file as (media.builders.kinds.File)."""
    if element_type == "subtitles":  # text read by media.subtitles, never opened by FFmpeg
        check_subtitles(path, label)
        return
    with path.open("rb") as f:
        head = f.read(_HEAD)
    fmt = sniff(head)
    if fmt is None:
        raise _fail(label, "the file is not a recognised media format", element_type)
    if fmt not in _ACCEPTS.get(element_type, frozenset()):
        article = "an" if element_type[0] in "aeiou" else "a"
        problem = f"the file is {_describe(fmt)}, which {article} {element_type} element cannot use"
        raise _fail(label, problem, element_type)
    if fmt == "font":
        return
    size = image_size(fmt, head)
    if fmt in _IMAGES:
        if size is None:
            raise _fail(label, "the image header is missing or corrupt", element_type)
        _check_pixels(label, element_type, *size, settings)
    else:
        _check_stream_sizes(path, fmt, element_type, label, settings)
    try:
        info = probe(path)
    except JobError as exc:
        problem = exc.message.replace(f"'{path}'", "the file").replace(str(path), "the file")
        raise _fail(label, f"the file is not usable media ({problem})", element_type) from None
    _check_info(info, element_type, label, settings)
    if info.duration is not None and info.kind != "image":
        _check_tail(path, fmt, info, element_type, label)


def sniff(head: bytes) -> str | None:
    """The FFmpeg demuxer for a file's first bytes, "font" for fonts, or None: anything
    not on this list (playlists, manifests, text, HTML, archives) is refused."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png_pipe"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg_pipe"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"BM") and len(head) >= 26:
        return "bmp_pipe"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": "webp_pipe", b"WAVE": "wav", b"AVI ": "avi"}.get(head[8:12])
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return "mpegts"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "aac" if head[1] & 0xF6 == 0xF0 else "mp3"
    if head[:4] in _FONT_MAGIC:
        return "font"
    return None


def image_size(fmt: str, head: bytes) -> tuple[int, int] | None:
    """Width and height from an image's header, without decoding it."""
    try:
        if fmt == "png_pipe" and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if fmt == "gif":
            return struct.unpack("<HH", head[6:10])
        if fmt == "bmp_pipe":
            w, h = struct.unpack("<ii", head[18:26])
            return abs(w), abs(h)
        if fmt == "webp_pipe":
            return _webp_size(head)
        if fmt == "jpeg_pipe":
            return _jpeg_size(head)
    except struct.error:
        return None
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X":
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 <= len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if marker in _JPEG_SOF:
            h, w = struct.unpack(">HH", head[i + 5 : i + 9])
            return w, h
        i += 2 + int.from_bytes(head[i + 2 : i + 4], "big")
    return None


def _check_pixels(label: str, element_type: str, width: int, height: int, settings: Settings) -> None:
    if width < 1 or height < 1:
        raise _fail(label, f"the picture has no size ({width}x{height})", element_type)
    if width * height > settings.max_source_pixels:
        raise _fail(
            label,
            f"the picture is {width}x{height}, more than the {settings.max_source_pixels:,} pixel limit",
            element_type,
            "scale it down (8K, 7680x4320, is plenty) and retry",
        )


def _check_stream_sizes(path: Path, fmt: str, element_type: str, label: str, settings: Settings) -> None:
    """Frame sizes as FFmpeg finds them with its decoders capped at MAX_SOURCE_PIXELS, before
    `probe` decodes uncapped: a bomb (say, an oversized cover picture in an MP3) has no size
    here instead of allocating gigabytes there."""
    try:
        options = {"max_pixels": str(settings.max_source_pixels)}
        with av.open(str(path), format=fmt, options=options) as container:
            sizes = [(s.codec_context.width, s.codec_context.height) for s in container.streams.video]
    except (av.error.FFmpegError, OSError) as exc:
        raise _fail(label, f"the file is corrupt or truncated ({_why(exc)})", element_type) from None
    for width, height in sizes:
        if not (width and height):  # the capped decoder refused it, or it is not a picture at all
            raise _fail(label, "a picture in the file is unreadable or over the pixel limit", element_type)
        _check_pixels(label, element_type, width, height, settings)


def _check_info(info: MediaInfo, element_type: str, label: str, settings: Settings) -> None:
    if element_type == "video" and not info.has_video:
        raise _fail(label, "the file has no video stream", element_type)
    if element_type == "audio" and not info.has_audio:
        raise _fail(label, "the file has no audio stream", element_type)
    if info.width and info.height:
        _check_pixels(label, element_type, info.width, info.height, settings)
    if info.duration is not None and (
        not math.isfinite(info.duration) or info.duration > settings.max_source_duration_sec
    ):
        raise _fail(
            label,
            f"the media claims to last {info.duration:g}s, over the "
            f"{settings.max_source_duration_sec:g}s limit",
            element_type,
            "use a shorter file",
        )


def _check_tail(path: Path, fmt: str, info: MediaInfo, element_type: str, label: str) -> None:
    """A packet must exist near the declared end: a cut-off download has a full index
    (moov first) but no data behind it, and would otherwise fail mid-render."""
    assert info.duration is not None
    try:
        with av.open(str(path), format=fmt) as container:
            streams = [
                s
                for s in (container.streams.audio if element_type == "audio" else container.streams.video)
                if not s.disposition & av.stream.Disposition.attached_pic  # a cover, not a track
            ]
            if not streams:
                raise _fail(
                    label, f"the file has no {element_type} track, only a cover picture", element_type
                )
            stream = streams[0]
            if stream.time_base is None:
                return
            target = (stream.start_time or 0) + int(info.duration * 0.95 / stream.time_base)
            container.seek(target, stream=stream, any_frame=True, backward=True)
            if any(packet.size for packet in container.demux(stream)):
                return
    except (av.error.FFmpegError, OSError) as exc:
        raise _fail(label, f"the file is corrupt or truncated ({_why(exc)})", element_type) from None
    raise _fail(label, "the file is truncated (no data near its end)", element_type)


def _why(exc: Exception) -> str:
    """The library's reason without the local path (which means nothing to the user)."""
    return getattr(exc, "strerror", None) or type(exc).__name__


def _describe(fmt: str) -> str:
    if fmt in _IMAGES:
        return "an image"
    if fmt == "font":
        return "a font"
    if fmt in _AUDIOS:
        return "an audio or video file" if fmt in _VIDEOS else "an audio file"
    return "a video"
