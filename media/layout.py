"""Boxes, anchors and fit modes in output pixels, worked out in Python so the graph holds numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from schemas.spec import Element, resolve_length


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


def element_box(element: Element, out_w: int, out_h: int, media: tuple[int, int] | None) -> Box:
    """The element's box: explicit lengths, the media's aspect for a missing one, else the output."""
    w = resolve_length(element.width, out_w) if element.width is not None else None
    h = resolve_length(element.height, out_h) if element.height is not None else None
    if w is None and h is None:
        w, h = float(out_w), float(out_h)
    elif w is None:
        assert h is not None
        w = h * media[0] / media[1] if media else float(out_w)
    elif h is None:
        h = w * media[1] / media[0] if media else float(out_h)
    width, height = max(1, round(w)), max(1, round(h))
    if element.x is None:
        x = (out_w - width) / 2
    else:
        x = resolve_length(element.x, out_w) - resolve_length(element.x_anchor, width)
    if element.y is None:
        y = (out_h - height) / 2
    else:
        y = resolve_length(element.y, out_h) - resolve_length(element.y_anchor, height)
    return Box(round(x), round(y), width, height)


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
