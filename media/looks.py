"""An element's looks as filters on its own pixels: chroma key, colour filters, colour preset,
and the crop of its source.

They run where the builder has the element's pixels at box size, before a still is held, so a
picture is keyed and graded once, not per frame. Filters that cannot carry alpha (vignette) work
on the colour and leave the alpha plane as it was.
"""

from __future__ import annotations

import math

from media.color import color_filters
from media.graph import Filter, Stream, chain, f, join, split
from media.probe import MediaInfo
from media.text import ffmpeg_color
from schemas.elements import FramedElement, VisualElement
from schemas.looks import LookFilter
from schemas.units import resolve_length

SEPIA = {
    "rr": 0.393,
    "rg": 0.769,
    "rb": 0.189,
    "gr": 0.349,
    "gg": 0.686,
    "gb": 0.168,
    "br": 0.272,
    "bg": 0.534,
    "bb": 0.131,
}


def looks(stream: Stream, element: VisualElement, alpha: bool) -> Stream:
    """The element's pixels keyed, filtered and graded, in that order."""
    if isinstance(element, FramedElement) and element.chroma_key is not None:
        key = element.chroma_key
        stream = chain(
            stream,
            [
                f("format", "yuva420p"),
                f("chromakey", color=ffmpeg_color(key.color), similarity=key.similarity, blend=key.blend),
            ],
        )
    for group in _eq_runs(element.filters):
        if isinstance(group, dict):
            stream = chain(stream, [f("eq", **group)])
        else:
            stream = _apply(stream, group, alpha)
    if element.color_preset is not None:
        stream = chain(
            stream, [*color_filters(element.color_preset), f("format", "yuva420p" if alpha else "yuv420p")]
        )
    return stream


def has_looks(element: VisualElement) -> bool:
    keyed = isinstance(element, FramedElement) and element.chroma_key is not None
    return keyed or bool(element.filters) or element.color_preset is not None


EQ_OPTIONS = frozenset({"brightness", "contrast", "saturation"})


def _eq_runs(items: list[LookFilter]) -> list[LookFilter | dict[str, str]]:
    """The filters in order, with neighbouring brightness, contrast and saturation joined into one
    `eq` (one pass over the pixels) wherever that gives the same result: eq applies contrast before
    brightness, and saturation works on the colour alone."""
    runs: list[LookFilter | dict[str, str]] = []
    for item in items:
        last = runs[-1] if runs else None
        if item.type not in EQ_OPTIONS:
            runs.append(item)
        elif isinstance(last, dict) and _joins(last, item.type):
            last[item.type] = f"{item.amount:g}"
        else:
            runs.append({item.type: f"{item.amount:g}"})
    return runs


def _joins(eq: dict[str, str], option: str) -> bool:
    return option not in eq and not (option == "contrast" and "brightness" in eq)


def _apply(stream: Stream, item: LookFilter, alpha: bool) -> Stream:
    value = item.amount
    pixels = "yuva420p" if alpha else "yuv420p"
    match item.type:
        case "greyscale":
            return chain(stream, [f("hue", s=f"{1 - value:g}")])
        case "sepia":
            mix = {
                k: f"{v * value + (1 - value) * (1.0 if k[0] == k[1] else 0.0):.4f}" for k, v in SEPIA.items()
            }
            return chain(
                stream,
                [
                    f("format", "gbrap" if alpha else "gbrp"),
                    f("colorchannelmixer", **mix),
                    f("format", pixels),
                ],
            )
        case "invert":
            return chain(stream, [f("negate")]) if value >= 0.5 else stream
        case "blur":
            return chain(stream, [f("gblur", sigma=f"{value / 2:g}")]) if value > 0 else stream
        case "sharpen":
            return chain(stream, [f("unsharp", 5, 5, f"{value:g}")])
        case "hue":
            return chain(stream, [f("hue", h=f"{value:g}")])
        case "vignette":
            vignette = f("vignette", angle=f"{value * math.pi / 2:.6f}")
            if not alpha:
                return chain(stream, [vignette])
            colour, mask = split(stream, 2)
            return join([chain(colour, [vignette]), chain(mask, [f("alphaextract")])], "alphamerge")
    raise AssertionError(item.type)


def source_size(element: VisualElement, info: MediaInfo | None) -> tuple[int, int] | None:
    """The size of the part of the source the element uses (its crop, or all of it)."""
    if info is None or not info.width or not info.height:
        return None
    if not isinstance(element, FramedElement) or element.crop is None:
        return info.width, info.height
    box = crop_box(element, info)
    return box[2], box[3]


def crop_box(element: FramedElement, info: MediaInfo) -> tuple[int, int, int, int]:
    """x, y, width, height of the crop in source pixels (clipped to the source)."""
    assert element.crop is not None and info.width and info.height
    crop = element.crop
    x = max(0, round(resolve_length(crop.x, info.width)))
    y = max(0, round(resolve_length(crop.y, info.height)))
    width = min(info.width - x, round(resolve_length(crop.width, info.width)))
    height = min(info.height - y, round(resolve_length(crop.height, info.height)))
    return x, y, width, height


def crop_filters(element: VisualElement, info: MediaInfo | None) -> list[Filter]:
    if info is None or not isinstance(element, FramedElement) or element.crop is None:
        return []
    x, y, width, height = crop_box(element, info)
    return [f("crop", width, height, x, y)]
