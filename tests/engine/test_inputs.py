"""Inputs as the world makes them: each renders right or fails INVALID_INPUT naming the element."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from media.probe import probe
from schemas.errors import JobError
from tests.engine.conftest import Media, Renderer, frame_at, lavfi, make, near, pixel

RED, BLUE, WHITE, BLACK = (255, 0, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)
SPLIT = "color=c=red:s=160x240:r=25:d=1[l];color=c=blue:s=160x240:r=25:d=1[r];[l][r]hstack"
X264 = ["-c:v", "libx264", "-preset", "ultrafast"]


def _spec(*elements: dict, w: int = 160, h: int = 120) -> dict:
    return {"width": w, "height": h, "fps": 10, "duration": 1, "elements": list(elements)}


def _video(**extra: object) -> dict:
    return {"type": "video", "source": "v", "fit_mode": "fill", **extra}


ENCODINGS = {
    "10bit": ("mp4", [*X264, "-pix_fmt", "yuv420p10le"]),
    "hevc": (
        "mp4",
        ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1"],
    ),
    "vp9": ("webm", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"]),
    "av1": ("mkv", ["-c:v", "libsvtav1", "-preset", "12"]),
    "vfr": ("mp4", [*X264, "-fps_mode", "vfr"]),
}


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_codecs_and_frame_rates(media: Media, render: Renderer, name: str) -> None:
    ext, args = ENCODINGS[name]
    graph = SPLIT + (",setpts=(N*0.04+0.02*mod(N\\,3))/TB" if name == "vfr" else "")  # irregular frame times
    source = make(media.path(f"split_{name}.{ext}"), "-filter_complex", graph, *args)
    out = render(_spec(_video()), {0: source})
    frame = frame_at(out.path, 0.5)
    assert near(pixel(frame, 30, 60), RED) and near(pixel(frame, 130, 60), BLUE)
    assert abs(out.duration_seconds - 1.0) <= 0.1


def test_rotation_metadata_is_applied(media: Media, render: Renderer) -> None:
    """A landscape file tagged 90 degrees is portrait: it fills a portrait box with no bars."""
    plain = make(media.path("split_plain.mp4"), "-filter_complex", SPLIT, *X264)
    rotated = make(
        media.path("split_rotated.mp4"), "-display_rotation:v", "90", "-i", str(plain), "-c", "copy"
    )
    out = render(_spec({"type": "video", "source": "v", "fit_mode": "contain"}, w=240, h=320), {0: rotated})
    frame = frame_at(out.path, 0.5)
    top, bottom = pixel(frame, 120, 40), pixel(frame, 120, 280)
    assert {top, bottom} != {BLACK} and not near(top, bottom)
    assert not near(pixel(frame, 120, 2), BLACK) and not near(pixel(frame, 2, 160), BLACK)


def test_exif_orientation_of_a_jpeg(media: Media, render: Renderer) -> None:
    """Orientation 6 (turn 90 clockwise): the left red half ends up on top."""
    jpeg = make(media.path("split.jpg"), "-filter_complex", SPLIT, "-frames:v", "1")
    data = jpeg.read_bytes()
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)
    exif = b"Exif\0\0MM\0\x2a\0\0\0\x08" + struct.pack(">H", 1) + entry + b"\0\0\0\0"
    oriented = media.path("oriented.jpg")
    oriented.write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + data[2:])
    out = render(_spec({"type": "image", "source": "i", "fit_mode": "fill"}, w=160, h=240), {0: oriented})
    frame = frame_at(out.path, 0.5)
    assert near(pixel(frame, 80, 40), RED) and near(pixel(frame, 80, 200), BLUE)


def test_non_square_pixels_odd_size_and_no_audio(media: Media, render: Renderer) -> None:
    """A 161x121 file with 2:1 pixels is 322x121 on screen: contain leaves bars above and below."""
    anamorphic = make(
        media.path("sar.mp4"),
        *lavfi("color=c=white:s=161x121:r=25:d=1,setsar=2"),
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv444p",
        "-preset",
        "ultrafast",
    )
    out = render(_spec({"type": "video", "source": "v", "fit_mode": "contain"}), {0: anamorphic})
    frame = frame_at(out.path, 0.5)
    assert near(pixel(frame, 80, 60), WHITE) and near(pixel(frame, 80, 10), BLACK)


def test_webm_alpha_is_kept(media: Media, render: Renderer) -> None:
    graph = (
        "color=c=red:s=64x64:r=10:d=1,format=yuva420p,"
        "geq=lum='lum(X,Y)':cb='cb(X,Y)':cr='cr(X,Y)':a='if(lt(X,32),0,255)'"  # left half transparent
    )
    webm = make(media.path("alpha.webm"), *lavfi(graph), "-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p")
    out = render(
        _spec(
            {"type": "color", "color": "#ffffff"},
            {"type": "video", "source": "v", "x": 0, "y": 0, "width": 64, "height": 64, "track": 2},
        ),
        {1: webm},
    )
    frame = frame_at(out.path, 0.5)
    assert near(pixel(frame, 10, 32), WHITE) and near(pixel(frame, 54, 32), RED)


@pytest.mark.parametrize(("w", "h"), [(1, 1), (2400, 1800)])
def test_tiny_and_large_images(media: Media, render: Renderer, w: int, h: int) -> None:
    out = render(
        _spec({"type": "image", "source": "i", "fit_mode": "fill"}), {0: media.color_png("red", w, h)}
    )
    frame = frame_at(out.path, 0.5)
    assert near(pixel(frame, 0, 0), RED) and near(pixel(frame, 159, 119), RED)


def test_animated_gif_plays(media: Media, render: Renderer) -> None:
    gif = make(
        media.path("anim.gif"),
        "-filter_complex",
        "color=red:s=32x32:r=10:d=0.5[a];color=blue:s=32x32:r=10:d=0.5[b];[a][b]concat,split[x][y];"
        "[x]palettegen[p];[y][p]paletteuse",
    )
    out = render(_spec({"type": "image", "source": "g", "fit_mode": "fill"}), {0: gif})
    assert near(pixel(frame_at(out.path, 0.2), 80, 60), RED) and near(
        pixel(frame_at(out.path, 0.7), 80, 60), BLUE
    )


def _invalid(render: Renderer, spec: dict, sources: dict[int, Path]) -> JobError:
    with pytest.raises(JobError) as err:
        render(spec, sources)
    assert err.value.code == "INVALID_INPUT"
    return err.value


def test_garbage_file_names_the_element(render: Renderer, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\0not a video" * 100)
    err = _invalid(render, _spec(_video(id="intro")), {0: junk})
    assert "intro" in err.message and "readable" in err.message


def test_audio_file_as_video_and_trim_past_end(media: Media, render: Renderer) -> None:
    err = _invalid(render, _spec(_video()), {0: media.tone(seconds=1)})
    assert "elements[0]" in err.message and "audio only" in err.message
    err = _invalid(
        render, _spec({"type": "audio", "source": "a", "trim_start": 5}), {0: media.tone(seconds=1)}
    )
    assert "past the end" in err.message


def test_playlist_naming_other_files_is_not_followed(media: Media, render: Renderer, tmp_path: Path) -> None:
    playlist = tmp_path / "evil.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXTINF:1,\n{media.video()}\n#EXTINF:1,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n"
    )
    err = _invalid(render, _spec(_video(id="clip")), {0: playlist})
    assert "clip" in err.message and "playlist" in err.message


def test_an_opaque_picture_in_an_alpha_format_needs_no_alpha(media: Media) -> None:
    """Editors often save RGBA PNGs with every pixel opaque: drawn as opaque pictures they can be
    the frame's backdrop and skip the alpha plane; a picture with real transparency keeps it."""
    opaque = make(media.path("opaque_rgba.png"), *lavfi("color=c=red:s=32x32,format=rgba"), "-frames:v", "1")
    assert probe(opaque).pix_fmt == "rgba" and not probe(opaque).has_alpha
    assert probe(media.alpha_png()).has_alpha
