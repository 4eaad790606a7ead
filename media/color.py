"""Colour presets: one FFmpeg filter chain per preset, applied to the composed video just before
its output format, in the render's single FFmpeg pass (media.output.finish).

Each chain is made of stock filters (colorbalance, eq, hue, curves) with mild settings, so a
preset changes the look without clipping ordinary footage. The engine tests check the direction
of each change on sampled pixels (tests/engine/test_color.py).
"""

from __future__ import annotations

from media.graph import Filter, f
from schemas.spec import ColorPreset

COLOR_PRESETS: dict[ColorPreset, list[Filter]] = {
    # red up and blue down in shadows, midtones and highlights
    "warm": [f("colorbalance", rs=0.08, bs=-0.08, rm=0.10, bm=-0.10, rh=0.06, bh=-0.06)],
    "cool": [f("colorbalance", rs=-0.08, bs=0.08, rm=-0.10, bm=0.10, rh=-0.06, bh=0.06)],
    "vivid": [f("eq", contrast=1.10, saturation=1.40)],
    "muted": [f("eq", contrast=0.92, saturation=0.60)],
    "bw": [f("hue", s=0)],
    # faded blacks and a yellowed midtone (FFmpeg's own vintage curves), slightly less colour
    "vintage": [f("curves", preset="vintage"), f("eq", saturation=0.85)],
}


def color_filters(preset: ColorPreset | None) -> list[Filter]:
    """The filters a preset adds to the final video (none without a preset)."""
    return [] if preset is None else COLOR_PRESETS[preset]
