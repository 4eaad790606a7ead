"""`video`: played at its speed and the output's rate, fitted, looped, moved by an effect."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from media.builders import Build
from media.builders.effects import ken_burns
from media.builders.fitting import fitted, from_skip, pads
from media.builders.kinds import (
    File,
    Handled,
    Neutral,
    StreamCopy,
    empty,
    equal,
    own_source,
    played_length,
    probed_length,
    unset,
)
from media.context import RenderContext
from media.estimate import UNKNOWN_MEDIA_SECONDS
from media.graph import Filter, Stream, chain, f
from media.looks import looks
from media.probe import MediaInfo
from media.text import Font
from media.timeline import Clip
from schemas.elements import ElementBase, VideoElement

MAX_LOOP_BYTES = 1 << 30


def build(ctx: RenderContext, job: Build) -> Stream:
    clip, element = job.clip, job.clip.element
    assert isinstance(element, VideoElement)
    filters: list[Filter] = []
    if element.speed != 1 or clip.lead:
        lead = f"-round({clip.lead:.6f}/TB)" if clip.lead else ""
        filters.append(f("setpts", f"(PTS{lead})/{element.speed:g}"))
    filters += [f("fps", f"{ctx.fps:g}"), *fitted(job, element.fit_mode)]
    stream = looks(chain(ctx.media(clip)["v:0"], filters), element, job.alpha)
    timing = _segment_loop(ctx, clip, job) if clip.loops_segment else []
    timing += [*from_skip(job), *ken_burns(element.effect, element.effect_scale, job, ctx.fps)]
    return chain(stream, timing)


def _segment_loop(ctx: RenderContext, clip: Clip, job: Build) -> list[Filter]:
    """Repeats a trimmed segment by holding its (box-sized) frames in memory."""
    assert clip.media_length is not None
    frames = max(1, round(clip.media_length * ctx.fps))
    held = frames * job.width * job.height * (2.5 if job.alpha else 1.5)
    if held > MAX_LOOP_BYTES:
        raise ctx.invalid(
            clip,
            f"looping a {clip.media_length:.1f} s trimmed segment at {job.width}x{job.height} needs too much "
            "memory; loop a shorter segment or the whole file",
        )
    repeat = [f("loop", loop=-1, size=frames, start=0), f("setpts", f"N/({ctx.fps:g}*TB)")]
    if job.skip:  # a window began mid-loop: the phase already played is dropped
        phase = job.skip % clip.media_length
        repeat += [f("trim", start=f"{phase:.6f}"), f("setpts", "PTS-STARTPTS")]
    return repeat


def _from_the_start(_value: object, clip: Clip) -> bool:
    return clip.start == 0


def _from_the_first_frame(_value: object, clip: Clip) -> bool:
    return clip.source_start == 0


def _to_the_end(_value: object, clip: Clip) -> bool:
    return clip.media_length is not None and clip.end >= clip.media_length - 1e-3


class VideoKind:
    model = VideoElement
    builder = staticmethod(build)
    has_media = True
    unprobed_length: float | None = UNKNOWN_MEDIA_SECONDS
    stream_copy = StreamCopy(
        {
            "type": Neutral("the one type stream copied"),
            "id": Neutral("names the element in errors"),
            "track": Neutral("the only element is on top whatever its track"),
            "source": Neutral("the file remuxed"),
            "voiceover": Neutral("ducks other elements' sound; the only element has none"),
            "transition": Neutral("joins a previous clip on the track; the only element has none"),
            "fit_mode": Neutral("the source is the output's size (checked), fitted as it is"),
            "x_anchor": Neutral("with no x, no scale and no box of its own, the element fills the output"),
            "y_anchor": Neutral("with no y, no scale and no box of its own, the element fills the output"),
            "effect_scale": Neutral("only an effect uses it"),
            "time": Handled("starts the output", _from_the_start),
            "trim_start": Handled("plays from the source's first frame", _from_the_first_frame),
            "duration": Handled("plays the source to its end", _to_the_end),
            "trim_end": unset(),
            "duration_mode": equal("auto"),
            "speed": equal(1),
            "volume": equal(1),
            "muted": Handled("drops the audio stream instead", lambda _value, _clip: True),
            "fade_in": equal(0),
            "fade_out": equal(0),
            "x": unset(),
            "y": unset(),
            "width": unset(),
            "height": unset(),
            "scale": equal(1),
            "opacity": equal(1),
            "rotation": equal(0),
            "animations": empty(),
            "filters": empty(),
            "color_preset": unset(),
            "effect": unset(),
            "chroma_key": unset(),
            "crop": unset(),
        },
        keeps_sound=lambda element: not (isinstance(element, VideoElement) and element.muted),
    )

    def needs_alpha(self, job: Build) -> bool:
        element = job.clip.element
        assert isinstance(element, VideoElement)
        return pads(job, element.fit_mode) or element.chroma_key is not None

    def fonts(self, element: ElementBase, font_file: Path | None) -> list[Font]:
        return []

    def files(self, element: ElementBase) -> list[File]:
        return own_source(element, "video")

    def media_length(self, element: ElementBase, info: MediaInfo | None) -> float | None:
        return probed_length(element, info, shows=True, name="video")

    def open_length(
        self, element: ElementBase, media_length: float | None, nested: Callable[[], float | None]
    ) -> float | None:
        return played_length(element, media_length)


KIND = VideoKind()
