"""What a spec asks of a worker, before any source is fetched or probed: the learning estimator's
features (schemas.events.Workload).

Render time grows with the pixels encoded (output seconds x pixels) and with the layers composed
on them (each visual element for as long as it is on screen), and nearly vanishes on the
stream-copy fast path. Only the generic element attributes are read (`type`, `time`, `duration`,
`trim_*`, and effects through getattr) and the rest asked of the type's kind
(media.builders.kinds), so any element model with those keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from media.builders.kinds import kind_named
from media.estimate import planned_duration
from media.output import COPYABLE, STILL_FORMATS
from schemas.events import Workload
from schemas.spec import VideoSpec

REFERENCE_PIXELS = 1280 * 720


def workload(spec: VideoSpec) -> Workload:
    effects = _effects(spec.elements)
    if _stream_copy(spec):
        return Workload(pixel_seconds=0.0, layer_seconds=0.0, effects=effects, stream_copy=True)
    output = planned_duration(spec)
    if spec.width is None or spec.height is None:  # a sound-only output draws no picture
        return Workload(pixel_seconds=0.0, layer_seconds=0.0, effects=effects, stream_copy=False)
    pixels = spec.out_width * spec.out_height / REFERENCE_PIXELS
    # A still is one frame, whatever the timeline's length.
    frame = 1 / spec.fps / output if spec.output_format in STILL_FORMATS else 1.0
    layers = sum(_on_screen(e, output) * _layers(e) for e in spec.elements if _drawn(e))
    return Workload(
        pixel_seconds=output * frame * pixels,
        layer_seconds=layers * frame * pixels,
        effects=effects,
        stream_copy=False,
    )


def _stream_copy(spec: VideoSpec) -> bool:
    """One video played whole from the start, with no grade or loudness pass: what the render's
    stream copy (media/output.py) asks of the spec. Whether the source's codec, size and frame
    rate match is known only once it is probed; the fit learns how often they do."""
    if len(spec.elements) != 1 or spec.output_format not in COPYABLE or spec.duration is not None:
        return False
    if spec.color_preset is not None or spec.loudness_normalization:
        return False
    element = spec.elements[0]
    return (
        kind_named(element.type).stream_copy is not None
        and element.time == 0
        and not isinstance(element.duration, float)
        and not getattr(element, "trim_start", None)
        and getattr(element, "trim_end", None) is None
    )


def _on_screen(element: Any, output: float) -> float:
    """Seconds the element shows within the output (media of unknown length: until the end)."""
    trim_end = getattr(element, "trim_end", None)
    if isinstance(element.duration, float):
        length = element.duration
    elif trim_end is not None:
        length = trim_end - (getattr(element, "trim_start", None) or 0.0)
    else:
        length = kind_named(element.type).unprobed_length or output
    return max(0.0, min(output, element.time + length) - element.time)


def _layers(element: Any) -> int:
    """The element and the visual elements nested in it (compositions)."""
    nested = getattr(element, "elements", None) or []
    return 1 + sum(_layers(child) for child in nested if _drawn(child))


def _drawn(element: Any) -> bool:
    """A layer, not only heard."""
    return kind_named(element.type).builder is not None


def _effects(elements: Sequence[Any]) -> int:
    count = 0
    for element in elements:
        count += len(getattr(element, "animations", None) or [])
        count += sum(getattr(element, name, None) is not None for name in ("transition", "effect"))
        count += _effects(getattr(element, "elements", None) or [])
    return count
