"""A storyboard as a video spec (JSON): per scene a background, two translucent shapes and its
words, then the music bed under all of it. Everything the storyboard video looks like and how it
moves is decided here, so adding motion (keyframed x/y/scale, enter and exit animations) is an
edit of this module alone.

Motion: backgrounds on one track joined by the style's transitions (slides, wipes, circles,
dissolves); shapes fading in and out while they drift across and turn (keyframes over the scene);
words sliding in from a side that changes per scene and fading. The result is checked by
`VideoSpec` like any spec.
"""

from __future__ import annotations

from typing import Any

from generator.storyboard import Scene
from generator.styles import Style
from schemas.spec import VideoSpec

BACKGROUND_TRACK, SHAPE_TRACK, TEXT_TRACK = 1, 2, 3
FPS = 30.0
SHAPE_SIDE = 0.55  # of the shorter side
SHAPE_ANGLES = (12.0, 45.0, -20.0, 30.0)
SHAPE_DRIFT = 0.08  # of the width, over a scene
SHAPE_TURN = 15.0  # degrees, over a scene
TEXT_ENTRIES = ("up", "left", "down", "right")
TEXT_SLIDE_SECONDS = 0.7
# where a shape's center sits, as fractions of width and height; two shapes per scene, corners in turn
SHAPE_CORNERS = (((0.1, 0.15), (0.9, 0.85)), ((0.88, 0.12), (0.12, 0.9)))
TEXT_WIDTH, TEXT_HEIGHT = 0.84, 0.6  # of the output; the box is centered across
# average advance of a glyph in ems (Roboto; capitals are wider), and line height
LOWER_EM, UPPER_EM, LINE_EM = 0.56, 0.72, 1.3
MIN_TEXT_SCALE = 0.3
MUSIC_FADE_IN, MUSIC_FADE_OUT = 0.5, 1.5


def _background(n: int, scene: Scene, style: Style) -> dict[str, Any]:
    element: dict[str, Any] = {
        "id": f"scenes.{n}.background",
        "type": "color",
        "color": style.backgrounds[n % len(style.backgrounds)],
        "track": BACKGROUND_TRACK,
        "time": scene.start,
        "duration": scene.length,
    }
    if n > 0:
        transition = style.transitions[(n - 1) % len(style.transitions)]
        seconds = min(style.transition_seconds, scene.length / 2)
        element["transition"] = {"type": transition, "duration": seconds}
    return element


def _shapes(n: int, scene: Scene, style: Style, width: int, height: int) -> list[dict[str, Any]]:
    side = round(SHAPE_SIDE * min(width, height))
    fade = min(style.text_fade, scene.length / 3)
    return [
        {
            "id": f"scenes.{n}.shape{k}",
            "type": "color",
            "color": style.accents[(n + k) % len(style.accents)],
            "track": SHAPE_TRACK,
            "time": scene.start,
            "duration": scene.length,
            "x": [
                {"time": 0, "value": round(cx * width - side / 2)},
                {
                    "time": scene.length,
                    "value": round((cx + (SHAPE_DRIFT if k else -SHAPE_DRIFT)) * width - side / 2),
                },
            ],
            "y": round(cy * height - side / 2),
            "width": side,
            "height": side,
            "rotation": [
                {"time": 0, "value": SHAPE_ANGLES[(n + 2 * k) % len(SHAPE_ANGLES)]},
                {"time": scene.length, "value": SHAPE_ANGLES[(n + 2 * k) % len(SHAPE_ANGLES)] + SHAPE_TURN},
            ],
            "fade_in": fade,
            "fade_out": fade,
        }
        for k, (cx, cy) in enumerate(SHAPE_CORNERS[n % len(SHAPE_CORNERS)])
    ]


def _lines(words: list[str], per_line: float) -> int:
    """Lines the words take when wrapped greedily at `per_line` characters."""
    lines, used = 1, 0
    for word in words:
        if used and used + 1 + len(word) > per_line:
            lines, used = lines + 1, 0
        used += len(word) + (1 if used else 0)
    return lines


def font_pixels(text: str, style: Style, width: int, height: int) -> float:
    """The style's size, made smaller until the text fits its box (by average glyph widths)."""
    size = style.font_vmin / 100 * min(width, height)
    floor = size * MIN_TEXT_SCALE
    em = UPPER_EM if style.uppercase else LOWER_EM
    words = text.split()
    while size > floor and (
        max(map(len, words)) * em * size > TEXT_WIDTH * width
        or _lines(words, TEXT_WIDTH * width / (em * size)) * LINE_EM * size > TEXT_HEIGHT * height
    ):
        size *= 0.9
    return max(size, floor)


def _text(n: int, scene: Scene, style: Style, width: int, height: int) -> dict[str, Any]:
    """The scene's words, shown once its transition has half played; long texts get smaller."""
    delay = min(style.transition_seconds / 2, scene.length / 4) if n > 0 else 0.0
    words = scene.text.upper() if style.uppercase else scene.text
    element: dict[str, Any] = {
        "id": f"scenes.{n}.text",
        "type": "text",
        "text": words,
        "track": TEXT_TRACK,
        "time": scene.start + delay,
        "duration": scene.length - delay,
        "x": f"{(1 - TEXT_WIDTH) / 2:.0%}",
        "y": style.text_top[n % len(style.text_top)],
        "width": f"{TEXT_WIDTH:.0%}",
        "height": f"{TEXT_HEIGHT:.0%}",
        "align": "center",
        "vertical_align": "center",
        "font_family": style.font,
        "font_size": round(font_pixels(words, style, width, height), 1),
        "color": style.text_color,
        "fade_in": min(style.text_fade, (scene.length - delay) / 3),
        "fade_out": min(style.text_fade, (scene.length - delay) / 3),
        "animations": [
            {
                "type": "slide",
                "direction": TEXT_ENTRIES[n % len(TEXT_ENTRIES)],
                "duration": min(TEXT_SLIDE_SECONDS, (scene.length - delay) / 3),
                "easing": "ease-out",
            }
        ],
    }
    if style.outline is not None:
        element["stroke"] = {"color": style.outline, "width": 4}
    else:
        element["shadow"] = {"color": "#00000080", "x": 2, "y": 3}
    return element


def video_document(
    scenes: list[Scene], style: Style, width: int, height: int, duration: float, music_url: str
) -> dict[str, Any]:
    """The spec, as the JSON a client would post."""
    elements = [_background(n, scene, style) for n, scene in enumerate(scenes)]
    for n, scene in enumerate(scenes):
        elements += _shapes(n, scene, style, width, height)
        elements.append(_text(n, scene, style, width, height))
    elements.append(
        {
            "id": "music",
            "type": "audio",
            "source": music_url,
            "duration_mode": "loop",
            "volume": style.music_volume,
            "fade_in": min(MUSIC_FADE_IN, duration / 4),
            "fade_out": min(MUSIC_FADE_OUT, duration / 3),
        }
    )
    return {
        "output_format": "mp4",
        "width": width,
        "height": height,
        "fps": FPS,
        "duration": duration,
        "background_color": style.backgrounds[0],
        "elements": elements,
    }


def video_spec(
    scenes: list[Scene], style: Style, width: int, height: int, duration: float, music_url: str
) -> VideoSpec:
    return VideoSpec.model_validate(video_document(scenes, style, width, height, duration, music_url))
