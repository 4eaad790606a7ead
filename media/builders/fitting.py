"""Media fitted into the box a builder is asked for (cover, contain, fill)."""

from __future__ import annotations

from media.builders import Build
from media.graph import Filter, f
from media.layout import Box, fit_filters, fit_media


def fitted(job: Build, fit_mode: str) -> list[Filter]:
    info = job.clip.info
    assert info is not None and info.width and info.height
    fills = (job.width, job.height) == (job.frame.width, job.frame.height)
    fit = fit_media(fit_mode, info.width, info.height, Box(0, 0, job.width, job.height), fills_output=fills)
    return fit_filters(fit, job.width, job.height, alpha=job.alpha)


def from_skip(job: Build) -> list[Filter]:
    """Timestamps moved to the element's own time when its timeline began after it did."""
    return [f("setpts", f"PTS+round({job.skip:.6f}/TB)")] if job.skip else []


def pads(job: Build, fit_mode: str) -> bool:
    """Whether fitting leaves transparent bars (contain on another aspect)."""
    info = job.clip.info
    if info is None or not info.width or not info.height:
        return False
    fills = (job.width, job.height) == (job.frame.width, job.frame.height)
    box = Box(0, 0, job.width, job.height)
    return fit_media(fit_mode, info.width, info.height, box, fills_output=fills).pad is not None
