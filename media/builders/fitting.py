"""Media fitted into the box a builder is asked for (cover, contain, fill)."""

from __future__ import annotations

from media.builders import Build
from media.context import RenderContext
from media.graph import Filter, Stream, chain, f
from media.layout import Box, fit_filters, fit_media
from media.looks import crop_filters, looks, source_size
from schemas.elements import VisualElement


def fitted(job: Build, fit_mode: str) -> list[Filter]:
    """The source cropped (when the element says so) and fitted into the box."""
    element, info = job.clip.element, job.clip.info
    assert isinstance(element, VisualElement)
    size = source_size(element, info)
    assert size is not None
    fills = (job.width, job.height) == (job.frame.width, job.frame.height)
    fit = fit_media(fit_mode, *size, Box(0, 0, job.width, job.height), fills_output=fills)
    return [*crop_filters(element, info), *fit_filters(fit, job.width, job.height, alpha=job.alpha)]


def from_skip(job: Build) -> list[Filter]:
    """Timestamps moved to the element's own time when its timeline began after it did."""
    return [f("setpts", f"PTS+round({job.skip:.6f}/TB)")] if job.skip else []


def pads(job: Build, fit_mode: str) -> bool:
    """Whether fitting leaves transparent bars (contain on another aspect)."""
    element = job.clip.element
    assert isinstance(element, VisualElement)
    size = source_size(element, job.clip.info)
    if size is None:
        return False
    fills = (job.width, job.height) == (job.frame.width, job.frame.height)
    box = Box(0, 0, job.width, job.height)
    return fit_media(fit_mode, *size, box, fills_output=fills).pad is not None


def held(ctx: RenderContext, job: Build, stream: Stream) -> Stream:
    """A still's pixels with its looks, then held from the element's first instant on."""
    element = job.clip.element
    assert isinstance(element, VisualElement)
    return chain(looks(stream, element, job.alpha), ctx.hold(job.skip))
