"""screen_source: type fits the element, headers read before decoding, bombs/truncation/playlists refused."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

import imageio_ffmpeg
import pytest

import media.screening as screening
from media.screening import image_size, screen_source, sniff
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


def ffmpeg(*args: str) -> None:
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run([exe, "-v", "error", "-y", *args[:-1], "-threads", "1", args[-1]], check=True)


LAVFI_VIDEO = ("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2")
LAVFI_AUDIO = ("-f", "lavfi", "-i", "sine=duration=2")
X264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("screen")
    out = {name: d / name for name in (
        "a.png", "a.jpg", "a.gif", "a.webp", "a.bmp", "av.mp4", "v.mp4", "v.webm", "a.mp3", "a.wav", "a.flac",
        "a.ogg", "subs.mkv", "slow.mp4",
    )}  # fmt: skip
    for name in ("a.png", "a.jpg", "a.gif", "a.webp", "a.bmp"):
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=48x36", "-frames:v", "1", str(out[name]))
    ffmpeg(
        *LAVFI_VIDEO,
        *LAVFI_AUDIO,
        *X264,
        "-c:a",
        "aac",
        "-shortest",
        "-movflags",
        "+faststart",
        str(out["av.mp4"]),
    )
    ffmpeg(*LAVFI_VIDEO, *X264, str(out["v.mp4"]))
    ffmpeg(*LAVFI_VIDEO, *X264, "-movflags", "+faststart", str(out["slow.mp4"]))
    ffmpeg(*LAVFI_VIDEO, "-c:v", "libvpx", "-deadline", "realtime", str(out["v.webm"]))
    for name in ("a.mp3", "a.wav", "a.flac"):
        ffmpeg(*LAVFI_AUDIO, str(out[name]))
    ffmpeg(*LAVFI_AUDIO, "-c:a", "libvorbis", str(out["a.ogg"]))
    srt = d / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhi\n")
    ffmpeg("-i", str(srt), str(out["subs.mkv"]))
    return out


def rejected(path: Path, element_type: str, *needles: str, settings: Settings = SETTINGS) -> str:
    with pytest.raises(JobError) as caught:
        screen_source(path, element_type, "el-7", settings)
    assert caught.value.code == ErrorCode.INVALID_INPUT
    assert caught.value.message.startswith("el-7: ")
    assert str(path.parent) not in caught.value.message  # worker paths mean nothing to the user
    for needle in needles:
        assert needle in caught.value.message
    return caught.value.message


@pytest.mark.parametrize(
    ("name", "element_type"),
    [
        ("a.png", "image"),
        ("a.jpg", "image"),
        ("a.gif", "image"),
        ("a.webp", "image"),
        ("a.bmp", "image"),
        ("av.mp4", "video"),
        ("v.mp4", "video"),
        ("v.webm", "video"),
        ("a.gif", "video"),
        ("a.mp3", "audio"),
        ("a.wav", "audio"),
        ("a.flac", "audio"),
        ("a.ogg", "audio"),
        ("av.mp4", "audio"),
    ],
)
def test_good_files_pass(files: dict[str, Path], name: str, element_type: str) -> None:
    screen_source(files[name], element_type, "el-7", SETTINGS)


@pytest.mark.parametrize(
    ("name", "element_type", "needle"),
    [
        ("a.mp3", "image", "audio file"),
        ("a.png", "video", "an image"),
        ("a.png", "audio", "an image"),
        ("av.mp4", "image", "a video"),
        ("v.mp4", "audio", "no audio stream"),
        ("a.png", "font", "an image"),
        ("subs.mkv", "video", "no video or audio stream"),
    ],
)
def test_wrong_type_for_the_element(
    files: dict[str, Path], name: str, element_type: str, needle: str
) -> None:
    rejected(files[name], element_type, needle)


def test_image_sizes_come_from_headers(files: dict[str, Path]) -> None:
    for name in ("a.png", "a.jpg", "a.gif", "a.webp", "a.bmp"):
        head = files[name].read_bytes()
        fmt = sniff(head)
        assert fmt is not None
        assert image_size(fmt, head) == (48, 36), name


@pytest.mark.parametrize(
    "content",
    [
        b"#EXTM3U\n#EXTINF:1,\n/etc/passwd\n",
        b"ffconcat version 1.0\nfile '/etc/passwd'\n",
        b'<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011"></MPD>',
        b"<html><body>not found</body></html>",
        b"",
        bytes(range(256)) * 4,
    ],
)
def test_playlists_text_and_junk_never_reach_a_demuxer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    def no_probe(path: Path) -> None:
        raise AssertionError("probe must not be called")

    monkeypatch.setattr(screening, "probe", no_probe)
    path = tmp_path / "x.mp4"
    path.write_bytes(content)
    rejected(path, "video", "not a recognised media format")


def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(4096)))
        + chunk(b"IEND", b"")
    )


def patched_jpeg(original: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header claiming another size."""
    i = 2
    while original[i + 1] not in (0xC0, 0xC1, 0xC2):
        i += 2 + int.from_bytes(original[i + 2 : i + 4], "big")
    return original[: i + 5] + struct.pack(">HH", height, width) + original[i + 9 :]


def test_decompression_bombs_are_refused_before_decoding(
    tmp_path: Path, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_probe(path: Path) -> None:
        raise AssertionError("a bomb must be refused before anything decodes it")

    monkeypatch.setattr(screening, "probe", no_probe)
    bombs = {
        "bomb.png": png_claiming(30000, 30000),
        "bomb.jpg": patched_jpeg(files["a.jpg"].read_bytes(), 30000, 30000),
        "bomb.gif": files["a.gif"].read_bytes()[:6]
        + struct.pack("<HH", 65535, 65535)
        + files["a.gif"].read_bytes()[10:],
    }
    for name, content in bombs.items():
        path = tmp_path / name
        path.write_bytes(content)
        assert "more than the 100,000,000 pixel limit" in rejected(path, "image", "el-7"), name


def with_cover(mp3: bytes, picture: bytes) -> bytes:
    """The MP3 behind an ID3v2.3 tag whose APIC frame holds `picture` (a cover image)."""
    frame_data = b"\x00image/png\x00\x03\x00" + picture
    frame = b"APIC" + struct.pack(">I", len(frame_data)) + b"\x00\x00" + frame_data
    size = len(frame)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    if mp3.startswith(b"ID3"):  # drop the encoder's own tag
        old = mp3[6:10]
        mp3 = mp3[10 + ((old[0] << 21) | (old[1] << 14) | (old[2] << 7) | old[3]) :]
    return b"ID3\x03\x00\x00" + syncsafe + frame + mp3


def test_bomb_hidden_as_cover_art_is_refused_before_probe(
    tmp_path: Path, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    mp3 = files["a.mp3"].read_bytes()
    fine = tmp_path / "cover.mp3"
    fine.write_bytes(with_cover(mp3, files["a.png"].read_bytes()))
    screen_source(fine, "audio", "el-7", SETTINGS)

    m4a = tmp_path / "cover.m4a"
    ffmpeg(
        "-i",
        str(fine),
        "-map",
        "0",
        "-c:a",
        "aac",
        "-c:v",
        "copy",
        "-disposition:v",
        "attached_pic",
        str(m4a),
    )
    rejected(m4a, "video", "only a cover picture")

    def no_probe(path: Path) -> None:
        raise AssertionError("the cover must be refused before an uncapped decode")

    monkeypatch.setattr(screening, "probe", no_probe)
    bomb = tmp_path / "bomb-cover.mp3"
    bomb.write_bytes(with_cover(mp3, png_claiming(12000, 12000)))  # under FFmpeg's own cap, over ours
    rejected(bomb, "audio", "pixel limit")


def test_zero_sized_picture_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "zero.png"
    path.write_bytes(png_claiming(0, 10))
    rejected(path, "image", "no size")


def test_truncated_videos_are_refused(tmp_path: Path, files: dict[str, Path]) -> None:
    for name in ("av.mp4", "slow.mp4", "v.mp4", "v.webm"):
        data = files[name].read_bytes()
        cut = tmp_path / f"cut-{name}"
        cut.write_bytes(data[: len(data) // 2])
        message = rejected(cut, "video")
        assert "truncated" in message or "corrupt" in message, name


def test_absurd_durations_are_refused(files: dict[str, Path]) -> None:
    short = Settings(_env_file=None, max_source_duration_sec=1)  # type: ignore[call-arg]
    rejected(files["av.mp4"], "video", "over the 1s limit", settings=short)
    rejected(files["a.mp3"], "audio", "over the 1s limit", settings=short)


def test_fonts_are_recognised(tmp_path: Path) -> None:
    for magic in (b"\x00\x01\x00\x00", b"OTTO", b"wOFF", b"wOF2", b"ttcf"):
        path = tmp_path / "f.bin"
        path.write_bytes(magic + bytes(100))
        screen_source(path, "font", "el-7", SETTINGS)
    path.write_bytes(b"<svg/>")
    rejected(path, "font", "TTF")
