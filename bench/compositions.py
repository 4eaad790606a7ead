"""The benched compositions, each three ways: our spec, a hand-written FFmpeg command, MoviePy.

The hand-written commands are what an FFmpeg expert would type for the same video: same size,
frame rate, duration, encoder and quality settings, so the ratio shows the engine's overhead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.sources import MONTAGE_CLIP_SECONDS, Sources
from media.text import DEFAULT_FONT

ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
AUDIO = ["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart"]
CAPTION = "Summer sale: 50% off"
HOLD = "loop=loop=-1:size=1,setpts=N/30/TB"  # an expert decodes and scales a still once


@dataclass(frozen=True)
class Composition:
    name: str
    spec: dict[str, Any]
    sources: dict[int, Path]
    ffmpeg_args: list[str]  # after the binary and before the output path
    moviepy: Callable[[Path, int], None]


def prd_example(src: Sources) -> Composition:
    """720x1280: background video covering the frame, a logo at 5%/5% sized 25%x25%."""
    spec = {
        "output_format": "mp4",
        "width": 720,
        "height": 1280,
        "fps": 30,
        "elements": [
            {"type": "video", "source": "bg", "track": 1, "fit_mode": "cover"},
            {
                "type": "image",
                "source": "logo",
                "track": 2,
                "x": "5%",
                "y": "5%",
                "width": "25%",
                "height": "25%",
            },
        ],
    }
    graph = (
        "[0:v]scale=2276:1280,crop=720:1280,setsar=1[bg];"
        f"[1:v]scale=180:180,format=yuva420p,{HOLD}[logo];"
        "[bg][logo]overlay=36:134:shortest=1,format=yuv420p[v]"
    )
    args = ["-i", str(src.background), "-i", str(src.logos[0]), "-filter_complex", graph]
    args += ["-map", "[v]", "-map", "0:a", "-t", "10", *ENCODE, *AUDIO]

    def moviepy(out: Path, threads: int) -> None:
        from moviepy import CompositeVideoClip, ImageClip, VideoFileClip

        bg = VideoFileClip(str(src.background)).resized((2276, 1280)).cropped(x1=778, width=720)
        logo = (
            ImageClip(str(src.logos[0]))
            .resized((180, 180))
            .with_position((36, 134))
            .with_duration(bg.duration)
        )
        _write(CompositeVideoClip([bg, logo], size=(720, 1280)).with_audio(bg.audio), out, threads, [bg])

    return Composition(
        "PRD example (720x1280, video + logo)", spec, {0: src.background, 1: src.logos[0]}, args, moviepy
    )


def overlays_text_music(src: Sources) -> Composition:
    """1280x720: background video, 4 logos in the corners, a caption, music under the video's sound."""
    corners = [(40, 40), (1080, 40), (40, 520), (1080, 520)]
    logos = [
        {"type": "image", "source": f"logo{n}", "track": 2, "x": x, "y": y, "width": 160, "height": 160}
        for n, (x, y) in enumerate(corners)
    ]
    caption = {
        "type": "text",
        "text": CAPTION,
        "track": 3,
        "y": 560,
        "height": 120,
        "font_size": 64,
        "color": "#ffffff",
    }
    spec = {
        "output_format": "mp4",
        "width": 1280,
        "height": 720,
        "fps": 30,
        "elements": [
            {"type": "video", "source": "bg", "track": 1},
            *logos,
            {**caption, "x": 0, "width": 1280},
            {"type": "audio", "source": "music", "volume": 0.5, "duration": 10},
        ],
    }
    sources = {0: src.background, **{n + 1: logo for n, logo in enumerate(src.logos)}, 6: src.music}
    text_file = Path(src.music.parent / "caption.txt")
    text_file.write_text(CAPTION, encoding="utf-8")
    parts = ["[0:v]setsar=1[b0]"]
    for n, (x, y) in enumerate(corners):
        parts.append(
            f"[{n + 1}:v]scale=160:160,{HOLD}[l{n}];[b{n}][l{n}]overlay={x}:{y}:shortest=1[b{n + 1}]"
        )
    parts.append(
        f"[b4]drawtext=fontfile={DEFAULT_FONT}:textfile={text_file}:expansion=none:fontsize=64:fontcolor=white:"
        "x=(w-text_w)/2:y=560+(120-text_h)/2,format=yuv420p[v]"
    )
    parts.append("[5:a]volume=0.5[m];[0:a][m]amix=inputs=2:duration=first:normalize=0[a]")
    args = ["-i", str(src.background)]
    for logo in src.logos:
        args += ["-i", str(logo)]
    args += [
        "-i",
        str(src.music),
        "-filter_complex",
        ";".join(parts),
        "-map",
        "[v]",
        "-map",
        "[a]",
        "-t",
        "10",
    ]
    args += [*ENCODE, *AUDIO]

    def moviepy(out: Path, threads: int) -> None:
        from moviepy import (
            AudioFileClip,
            CompositeAudioClip,
            CompositeVideoClip,
            ImageClip,
            TextClip,
            VideoFileClip,
        )

        bg = VideoFileClip(str(src.background))
        layers = [bg] + [
            ImageClip(str(logo)).resized((160, 160)).with_position(pos).with_duration(bg.duration)
            for logo, pos in zip(src.logos, corners, strict=True)
        ]
        text = TextClip(font=str(DEFAULT_FONT), text=CAPTION, font_size=64, color="white")
        layers.append(text.with_position(("center", 560 + (120 - text.h) // 2)).with_duration(bg.duration))
        music = AudioFileClip(str(src.music)).subclipped(0, bg.duration).with_volume_scaled(0.5)
        video = CompositeVideoClip(layers, size=(1280, 720)).with_audio(CompositeAudioClip([bg.audio, music]))
        _write(video, out, threads, [bg, music])

    return Composition("4 overlays + text + music (1280x720)", spec, sources, args, moviepy)


def montage(src: Sources) -> Composition:
    """60 s 1920x1080 montage of 6 clips joined by 1 s crossfades, with a music bed."""
    step = MONTAGE_CLIP_SECONDS - 1
    total = step * (len(src.clips) - 1) + MONTAGE_CLIP_SECONDS - 1  # the last clip is cut 1 s short: 60 s
    elements: list[dict[str, Any]] = []
    for n in range(len(src.clips)):
        clip: dict[str, Any] = {
            "type": "video",
            "source": f"clip{n}",
            "time": n * step,
            "duration": min(MONTAGE_CLIP_SECONDS, total - n * step),
        }
        if n:
            clip["transition"] = {"type": "crossfade", "duration": 1}
        elements.append(clip)
    elements.append({"type": "audio", "source": "music"})
    spec = {
        "output_format": "mp4",
        "width": 1920,
        "height": 1080,
        "fps": 30,
        "duration": total,
        "elements": elements,
    }
    sources = {n: clip for n, clip in enumerate(src.clips)} | {len(src.clips): src.music}
    chain, last = [], "0:v"
    for n in range(1, len(src.clips)):
        chain.append(f"[{last}][{n}:v]xfade=transition=fade:duration=1:offset={n * step}[x{n}]")
        last = f"x{n}"
    args = [a for clip in src.clips for a in ("-i", str(clip))] + ["-i", str(src.music)]
    args += [
        "-filter_complex",
        ";".join(chain),
        "-map",
        f"[{last}]",
        "-map",
        f"{len(src.clips)}:a",
        "-t",
        str(total),
    ]
    args += [*ENCODE, *AUDIO]

    def moviepy(out: Path, threads: int) -> None:
        from moviepy import AudioFileClip, CompositeVideoClip, VideoFileClip, vfx

        clips = []
        for n, path in enumerate(src.clips):
            clip = VideoFileClip(str(path), audio=False).subclipped(
                0, min(MONTAGE_CLIP_SECONDS, total - n * step)
            )
            clips.append(clip.with_start(n * step).with_effects([vfx.CrossFadeIn(1)] if n else []))
        video = CompositeVideoClip(clips, size=(1920, 1080)).with_duration(total)
        music = AudioFileClip(str(src.music)).subclipped(0, total)
        _write(video.with_audio(music), out, threads, [*clips, music])

    return Composition("60 s 1080p montage, 6 clips, crossfades", spec, sources, args, moviepy)


MOTION_EFFECTS = ["zoom-in", "pan-left", "zoom-out", "pan-right", "zoom-in"]
TITLES = [(2.0, "Five places"), (12.0, "Six moving logos"), (22.0, "One FFmpeg pass")]


def _ken_burns(effect: str, seconds: float) -> str:
    """The perspective window an expert would write for a smooth zoom or pan (scale 1.2)."""
    p = f"clip(in/(30*{seconds}),0,1)"
    if effect.startswith("zoom"):
        zoom = f"(1+0.2*{p})" if effect == "zoom-in" else f"(1.2-0.2*{p})"
        w, h = f"W/{zoom}", f"H/{zoom}"
        x, y = f"(W-{w})/2", f"(H-{h})/2"
    else:
        w, h = "W/1.2", "H/1.2"
        x = f"(W-{w})*{p if effect == 'pan-left' else f'(1-{p})'}"
        y = f"(H-{h})/2"
    corners = f"x0='{x}':y0='{y}':x1='{x}+{w}':y1='{y}':x2='{x}':y2='{y}+{h}':x3='{x}+{w}':y3='{y}+{h}'"
    return f"perspective={corners}:sense=source:eval=frame"


def motion(src: Sources) -> Composition:
    """30 s 1280x720: five stills with Ken Burns effects and crossfades, six logos on keyframed
    paths, three titles fading and sliding in and out, a music bed."""
    starts = [6 * n for n in range(len(src.stills))]
    elements: list[dict[str, Any]] = []
    for n, start in enumerate(starts):
        still: dict[str, Any] = {
            "type": "image",
            "source": f"still{n}",
            "time": start,
            "duration": min(7, 30 - start),
            "effect": MOTION_EFFECTS[n],
        }
        if n:
            still["transition"] = {"type": "crossfade", "duration": 1}
        elements.append(still)
    for k in range(6):
        path = [{"time": 0, "value": 40}, {"time": 8, "value": 1120}]
        elements.append(
            {"type": "image", "source": f"logo{k}", "track": 2, "time": 4 * k, "duration": 8,
             "width": 120, "height": 120, "x": path, "y": 40 + 80 * k}
        )  # fmt: skip
    for start, title in TITLES:
        animations = [
            {"type": "fade", "duration": 0.6, "easing": "linear"},
            {"type": "slide", "direction": "down", "duration": 0.6, "easing": "linear"},
            {"type": "fade", "time": "end", "duration": 0.6, "easing": "linear"},
        ]
        elements.append(
            {"type": "text", "text": title, "track": 3, "time": start, "duration": 6, "x": 0, "y": 560,
             "width": 1280, "height": 120, "font_size": 64, "color": "#ffffff", "animations": animations}
        )  # fmt: skip
    elements.append({"type": "audio", "source": "music", "duration": 30})
    spec = {
        "output_format": "mp4",
        "width": 1280,
        "height": 720,
        "fps": 30,
        "duration": 30,
        "elements": elements,
    }
    logo_files = [src.logos[k % len(src.logos)] for k in range(6)]
    sources = {n: still for n, still in enumerate(src.stills)}
    sources |= {len(src.stills) + k: logo for k, logo in enumerate(logo_files)}
    sources[len(src.stills) + 6 + len(TITLES)] = src.music

    parts = []
    for n, start in enumerate(starts):
        seconds = min(7, 30 - start)
        parts.append(
            f"[{n}:v]scale=1280:720,setsar=1,format=yuv420p,{HOLD},trim=duration={seconds},"
            f"{_ken_burns(MOTION_EFFECTS[n], seconds)},setpts=PTS-STARTPTS[p{n}]"
        )
    last = "p0"
    for n in range(1, len(starts)):
        parts.append(f"[{last}][p{n}]xfade=transition=fade:duration=1:offset={starts[n]}[x{n}]")
        last = f"x{n}"
    for k in range(6):
        i = len(src.stills) + k
        parts.append(
            f"[{i}:v]scale=120:120,format=yuva420p,{HOLD},trim=duration=8,setpts=PTS+{4 * k}/TB[g{k}];"
            f"[{last}][g{k}]overlay=x='40+1080*(t-{4 * k})/8':y={40 + 80 * k}:eof_action=pass[o{k}]"
        )
        last = f"o{k}"
    for n, (start, title) in enumerate(TITLES):
        text_file = src.music.parent / f"title_{n}.txt"
        text_file.write_text(title, encoding="utf-8")
        local = f"(t-{start})"
        alpha = f"if(lt({local},0.6),{local}/0.6,if(gt({local},5.4),(6-{local})/0.6,1))"
        y = f"560+(120-text_h)/2+160*max(0,1-{local}/0.6)"
        parts.append(
            f"[{last}]drawtext=fontfile={DEFAULT_FONT}:textfile={text_file}:expansion=none:fontsize=64:"
            f"fontcolor=white:x=(w-text_w)/2:y='{y}':alpha='{alpha}':"
            f"enable='between(t,{start},{start + 6})'[t{n}]"
        )
        last = f"t{n}"
    parts.append(f"[{last}]format=yuv420p[v]")
    args = [a for path in [*src.stills, *logo_files, src.music] for a in ("-i", str(path))]
    music_input = len(src.stills) + 6
    args += ["-filter_complex", ";".join(parts), "-map", "[v]", "-map", f"{music_input}:a", "-t", "30"]
    args += [*ENCODE, *AUDIO]

    def moviepy(out: Path, threads: int) -> None:
        from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, TextClip, vfx

        layers: list[Any] = []
        for n, (start, path) in enumerate(zip(starts, src.stills, strict=True)):
            seconds = min(7, 30 - start)
            effect = MOTION_EFFECTS[n]
            still = ImageClip(str(path)).resized((1280, 720)).with_duration(seconds)
            if effect.startswith("zoom"):
                grow = (
                    (lambda t, s=seconds: 1 + 0.2 * t / s)
                    if effect == "zoom-in"
                    else (lambda t, s=seconds: 1.2 - 0.2 * t / s)
                )
                still = still.resized(grow).with_position("center")
            else:
                sign = -1 if effect == "pan-left" else 1
                still = still.resized(1.2).with_position(
                    lambda t, s=seconds, d=sign: (-128 + d * 128 * (t / s - 0.5) * 2 / 2, -72)
                )
            layers.append(still.with_start(start).with_effects([vfx.CrossFadeIn(1)] if n else []))
        for k, logo in enumerate(logo_files):
            layers.append(
                ImageClip(str(logo)).resized((120, 120)).with_start(4 * k).with_duration(8)
                .with_position(lambda t, y=40 + 80 * k: (40 + 1080 * t / 8, y))
            )  # fmt: skip
        for start, title in TITLES:
            text = TextClip(font=str(DEFAULT_FONT), text=title, font_size=64, color="white").with_duration(6)
            base = 560 + (120 - text.h) // 2
            layers.append(
                text.with_start(start)
                .with_position(lambda t, b=base: ("center", b + 160 * max(0.0, 1 - t / 0.6)))
                .with_effects([vfx.CrossFadeIn(0.6), vfx.CrossFadeOut(0.6)])
            )  # fmt: skip
        music = AudioFileClip(str(src.music)).subclipped(0, 30)
        # an opaque background: MoviePy composes no mask, whose code fails on a title below the frame
        video = CompositeVideoClip(layers, size=(1280, 720), bg_color=(0, 0, 0))
        video = video.with_duration(30).with_audio(music)
        _write(video, out, threads, [music])

    return Composition(
        "30 s 720p motion: Ken Burns, keyframed logos, animated titles", spec, sources, args, moviepy
    )


CUES = [
    (0.5, 2.8, "Welcome to the summer collection"),
    (3.0, 5.4, "Graded colours, a presenter keyed in"),
    (5.6, 7.8, "Subtitles burned in, in the same pass"),
    (8.0, 9.8, "See you next week"),
]
# eq, chromakey and colorbalance settings both sides use (colorbalance is the `warm` preset's)
EQ = {"contrast": 1.15, "saturation": 1.3}
KEY = {"color": "#00ff00", "similarity": 0.3, "blend": 0.1}
WARM = "colorbalance=rs=0.08:bs=-0.08:rm=0.1:bm=-0.1:rh=0.06:bh=-0.06"
SUBTITLE_PX, SUBTITLE_MARGIN, SUBTITLE_STROKE = 40, 40, 2


def _srt(cues: list[tuple[float, float, str]]) -> str:
    def stamp(seconds: float) -> str:
        ms = round(seconds * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "".join(f"{n}\n{stamp(a)} --> {stamp(b)}\n{text}\n\n" for n, (a, b, text) in enumerate(cues, 1))


def looks_captions(src: Sources) -> Composition:
    """10 s 1280x720: the background video graded (contrast, saturation), a presenter keyed out of
    a green screen over it, four subtitle cues, the whole output warmed."""
    spec = {
        "output_format": "mp4",
        "width": 1280,
        "height": 720,
        "fps": 30,
        "color_preset": "warm",
        "elements": [
            {"type": "video", "source": "bg", "filters": [{"type": k, "value": v} for k, v in EQ.items()]},
            {"type": "video", "source": "presenter", "track": 2, "x": 600, "y": 40, "width": 640,
             "height": 360, "chroma_key": KEY},
            {"type": "subtitles", "track": 3, "cues": [{"start": a, "end": b, "text": t} for a, b, t in CUES],
             "font_size": SUBTITLE_PX, "margin": SUBTITLE_MARGIN,
             "stroke": {"color": "#000000", "width": SUBTITLE_STROKE}},
        ],
    }  # fmt: skip
    srt = src.music.parent / "captions.srt"
    srt.write_text(_srt(CUES), encoding="utf-8")
    # libass sizes an SRT's text in a 288-line script scaled to the frame: 40 px on 720 lines is 16
    style = (
        f"FontName=Roboto,FontSize={SUBTITLE_PX * 288 // 720},Outline={SUBTITLE_STROKE * 288 / 720:g},"
        f"Shadow=0,MarginV={SUBTITLE_MARGIN * 288 // 720}"
    )
    graph = (
        f"[0:v]eq=contrast={EQ['contrast']}:saturation={EQ['saturation']},setsar=1[b];"
        f"[1:v]format=yuva420p,chromakey=0x00ff00:{KEY['similarity']}:{KEY['blend']}[k];"
        "[b][k]overlay=600:40[o];"
        f"[o]subtitles=filename={srt}:fontsdir={DEFAULT_FONT.parent}:force_style='{style}',"
        f"{WARM},format=yuv420p[v]"
    )
    args = ["-i", str(src.background), "-i", str(src.greenscreen), "-filter_complex", graph]
    args += ["-map", "[v]", "-map", "0:a", "-t", "10", *ENCODE, *AUDIO]

    def moviepy(out: Path, threads: int) -> None:
        import numpy as np
        from moviepy import CompositeVideoClip, TextClip, VideoFileClip, vfx

        def graded(frame: Any) -> Any:
            pixels = (frame.astype(np.float32) - 128) * EQ["contrast"] + 128
            grey = pixels.mean(axis=2, keepdims=True)
            return np.clip(grey + (pixels - grey) * EQ["saturation"], 0, 255).astype(np.uint8)

        def warm(frame: Any) -> Any:
            return np.clip(frame.astype(np.float32) * (1.08, 1.0, 0.92), 0, 255).astype(np.uint8)

        bg = VideoFileClip(str(src.background)).image_transform(graded)
        presenter = (
            VideoFileClip(str(src.greenscreen))
            .with_effects([vfx.MaskColor(color=(0, 255, 0), threshold=80, stiffness=10)])
            .with_position((600, 40))
        )
        captions = [
            TextClip(font=str(DEFAULT_FONT), text=text, font_size=SUBTITLE_PX, color="white",
                     stroke_color="black", stroke_width=SUBTITLE_STROKE)
            .with_start(a).with_duration(b - a)
            .with_position(("center", 720 - SUBTITLE_MARGIN - SUBTITLE_PX * 1.2))
            for a, b, text in CUES
        ]  # fmt: skip
        video = CompositeVideoClip([bg, presenter, *captions], size=(1280, 720)).image_transform(warm)
        _write(video.with_audio(bg.audio).with_duration(10), out, threads, [bg, presenter])

    sources = {0: src.background, 1: src.greenscreen}
    return Composition(
        "10 s 720p looks: graded video, chroma-keyed presenter, subtitles", spec, sources, args, moviepy
    )


def _write(video: Any, out: Path, threads: int, sources: list[Any]) -> None:
    """Encode like the other two, then close the readers so their FFmpeg processes are reaped."""
    video.write_videofile(
        str(out),
        fps=30,
        codec="libx264",
        preset="veryfast",
        audio_codec="aac",
        audio_bitrate="128k",
        threads=threads,
        ffmpeg_params=["-crf", "23", "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
        logger=None,
    )
    for clip in [video, *sources]:
        clip.close()


ALL = [prd_example, overlays_text_music, montage, motion, looks_captions]
