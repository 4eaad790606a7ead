"""What each prompt style looks, moves and sounds like: palette, font, pace, transitions, music.

Data only: the storyboard generator (generator/__init__.py) picks one by the job's style, and
generator/storyboard.py and generator/scenes.py read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.spec import TransitionType

StyleName = Literal["fun", "calm", "background"]


@dataclass(frozen=True)
class Style:
    backgrounds: tuple[str, ...]  # one per scene, in turn
    accents: tuple[str, ...]  # translucent shapes over the background
    text_color: str
    outline: str | None  # stroke around the letters, for bright backgrounds
    font: str  # a bundled family (media/text.py)
    font_vmin: float  # text size for a short phrase, percent of the shorter side
    uppercase: bool
    scene_seconds: float  # pace: about this long per scene
    max_words: int  # words on screen at once, at most
    transitions: tuple[TransitionType, ...]  # between scenes, in turn
    transition_seconds: float
    text_fade: float
    text_top: tuple[str, ...]  # where the text box starts, per scene in turn ('%' of the height)
    music: str  # the music bed (generator/music.py)
    music_volume: float


STYLES: dict[StyleName, Style] = {
    "fun": Style(
        backgrounds=("#ff5d8f", "#ffb400", "#00bbf9", "#7b2ff7", "#00c49a"),
        accents=("#ffffff59", "#1a1a1a33", "#fff3b066"),
        text_color="#ffffff",
        outline="#1a1a1a",
        font="Roboto Black",
        font_vmin=16.0,
        uppercase=True,
        scene_seconds=2.0,
        max_words=3,
        transitions=("slideleft", "circleopen", "wipeup", "slidedown"),
        transition_seconds=0.4,
        text_fade=0.25,
        text_top=("10%", "30%", "20%"),
        music="fun",
        music_volume=0.8,
    ),
    "calm": Style(
        backgrounds=("#1d3557", "#2a6f97", "#3d5a80", "#264653"),
        accents=("#a8dadc40", "#f1faee26"),
        text_color="#f1faee",
        outline=None,
        font="Roboto Light",
        font_vmin=8.0,
        uppercase=False,
        scene_seconds=3.5,
        max_words=6,
        transitions=("fade", "dissolve"),
        transition_seconds=1.0,
        text_fade=0.8,
        text_top=("15%",),
        music="calm",
        music_volume=0.7,
    ),
    "background": Style(
        backgrounds=("#14213d", "#1b263b", "#22333b", "#2b2d42"),
        accents=("#8d99ae26", "#edf2f41a"),
        text_color="#e5e5e5",
        outline=None,
        font="Roboto Medium",
        font_vmin=5.0,
        uppercase=False,
        scene_seconds=5.0,
        max_words=8,
        transitions=("fade",),
        transition_seconds=1.5,
        text_fade=1.2,
        text_top=("40%",),
        music="background",
        music_volume=0.6,
    ),
}
