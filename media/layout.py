"""Boxes, anchors and fit modes in output pixels, worked out in Python so the graph holds numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from media.graph import Filter, f


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Fit:
    """Scale the media to scale_w x scale_h, then crop (cover) or pad (contain) to the box."""

    scale_w: int
    scale_h: int
    crop: tuple[int, int] | None = None  # x, y offset of the box inside the scaled media
    pad: tuple[int, int] | None = None  # x, y offset of the scaled media inside the box


def fit_media(mode: str, media_w: int, media_h: int, box: Box, *, fills_output: bool) -> Fit:
    if mode == "auto":
        mode = "cover" if fills_output else "contain"
    if mode == "fill" or (media_w * box.h == media_h * box.w):
        return Fit(box.w, box.h)
    if mode == "cover":
        scale = max(box.w / media_w, box.h / media_h)
        sw, sh = max(box.w, math.ceil(media_w * scale - 1e-6)), max(box.h, math.ceil(media_h * scale - 1e-6))
        return Fit(sw, sh, crop=((sw - box.w) // 2, (sh - box.h) // 2))
    scale = min(box.w / media_w, box.h / media_h)
    sw, sh = max(1, min(box.w, round(media_w * scale))), max(1, min(box.h, round(media_h * scale)))
    return Fit(sw, sh, pad=((box.w - sw) // 2, (box.h - sh) // 2))


def rotated_size(w: int, h: int, degrees: float) -> tuple[int, int]:
    """Bounding box of a w x h rectangle turned by `degrees` (what the rotate filter outputs)."""
    a = math.radians(degrees)
    c, s = abs(math.cos(a)), abs(math.sin(a))
    return math.ceil(w * c + h * s - 1e-6), math.ceil(w * s + h * c - 1e-6)


def fit_filters(fit: Fit, box_w: int, box_h: int, *, alpha: bool) -> list[Filter]:
    """Media scaled to the fit, then cropped (cover) or padded with transparency (contain)."""
    filters = [f("scale", fit.scale_w, fit.scale_h, flags="bicubic"), f("setsar", 1)]
    if fit.crop is not None:
        filters.append(f("crop", box_w, box_h, fit.crop[0], fit.crop[1]))
    if fit.pad is not None:
        filters += [f("format", "yuva420p"), f("pad", box_w, box_h, fit.pad[0], fit.pad[1], color="black@0")]
    else:
        filters.append(f("format", "yuva420p" if alpha else "yuv420p"))
    return filters
