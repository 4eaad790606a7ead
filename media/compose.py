"""A timeline's visual clips composed into one stream, bottom-up:

  base canvas (a background colour, or the bottom layer itself when it covers everything)
    -> one overlay per layer in z-order (track, then start time, then spec order); consecutive
       clips on a track joined by transitions are first merged with xfade into one layer

Each layer is shifted to its start time; overlay's eof_action=pass makes it vanish when it ends.
The output's timeline and every composition element's own timeline are composed the same way.
"""

from __future__ import annotations

from media.builders import Build
from media.context import RenderContext
from media.graph import Stream, chain, f, join, source
from media.layers import Layer, clip_layer, needs_alpha, placement_of
from media.motion import Curve
from media.placement import Frame
from media.text import ffmpeg_color
from media.timeline import Clip, Timeline
from schemas.elements import VisualElement

XFADE_NAMES = {"crossfade": "fade"}


def compose(
    ctx: RenderContext, timeline: Timeline, frame: Frame, *, background: str | None, transparent: bool
) -> Stream:
    """The timeline's pixels at the frame's size; `transparent` keeps an alpha plane (a
    composition element over what lies below)."""
    groups = transition_groups([clip for clip in timeline.clips if clip.is_visual])
    if groups and not transparent and _is_backdrop(ctx, groups[0], frame, timeline.duration):
        video = _group_layer(ctx, groups[0], frame)[0].stream
        groups = groups[1:]
    else:
        fill = _fill(background, transparent)
        canvas = source(
            "color", c=fill, s=f"{frame.width}x{frame.height}", r=f"{ctx.fps:g}", d=f"{timeline.duration:.6f}"
        )
        video = chain(canvas, [f("format", "yuva420p" if transparent else "yuv420p")])
    for group in groups:
        layer, start = _group_layer(ctx, group, frame)
        x, y = layer.position(start)
        options: dict[str, object] = {"x": x, "y": y, "eof_action": "pass"}
        if transparent:  # blends in 4:2:0 and keeps the canvas's alpha plane
            options["format"] = "yuv420"
        video = join([video, layer.stream], "overlay", **options)
    return chain(video, [f("format", "yuva420p")]) if transparent else video


def _fill(background: str | None, transparent: bool) -> str:
    """The canvas colour: an opaque output's background drops any alpha; a composition's is
    transparent unless it has one."""
    if background is None:
        return "black@0" if transparent else "0x000000"
    return ffmpeg_color(background) if transparent else ffmpeg_color(background)[:8]


def transition_groups(clips: list[Clip]) -> list[list[Clip]]:
    """Clips in z-order, with each clip that has a transition joined to its track predecessor."""
    groups: list[list[Clip]] = []
    last_on_track: dict[int, list[Clip]] = {}
    for clip in clips:
        element = clip.element
        assert isinstance(element, VisualElement)
        previous = last_on_track.get(element.track)
        began = previous[-1].start - previous[-1].skip if previous else 0.0  # its own start, windows aside
        if element.transition is not None and previous is not None and began < clip.start - clip.skip:
            previous.append(clip)
            continue
        group = [clip]
        groups.append(group)
        last_on_track[element.track] = group
    return groups


def transition(clip: Clip) -> tuple[str, float]:
    element = clip.element
    assert isinstance(element, VisualElement) and element.transition is not None
    name = element.transition.type
    return XFADE_NAMES.get(name, name), min(element.transition.duration, clip.skip + clip.length + clip.tail)


def transition_start(timeline: Timeline, at: float) -> float:
    """Where a window beginning `at` must really begin so that no transition is cut: xfade cannot
    start part way, so a window starting inside one starts at the transition's beginning."""
    start = at
    for group in transition_groups([clip for clip in timeline.clips if clip.is_visual]):
        for clip in group[1:]:
            if clip.start < at < clip.start + transition(clip)[1]:
                start = min(start, clip.start)
    return start


def _is_backdrop(ctx: RenderContext, group: list[Clip], frame: Frame, duration: float) -> bool:
    """Opaque, full-frame, still and on screen from the first frame to the last."""
    last = group[-1]
    lasts = last.played_length >= last.length or last.freezes
    return (
        group[0].start == 0
        and last.end >= duration
        and lasts
        and all(_opaque_full(ctx, c, frame) for c in group)
    )


def _opaque_full(ctx: RenderContext, clip: Clip, frame: Frame) -> bool:
    placement = placement_of(ctx, clip, frame, clip.length)
    if not placement.rotation.is_constant or placement.resizes or placement.moves:
        return False
    box = placement.static_box()
    job = Build(clip, frame, box.w, box.h, False, clip.length)
    return (box.x, box.y, box.w, box.h) == (0, 0, frame.width, frame.height) and not needs_alpha(
        job, placement
    )


def _group_layer(ctx: RenderContext, group: list[Clip], frame: Frame) -> tuple[Layer, float]:
    """The group's layer, shifted to its start on the timeline, and that start."""
    if len(group) == 1:
        clip = group[0]
        freeze = clip.freezes and (clip.media_length or clip.length) < clip.length
        layer = clip_layer(ctx, clip, frame, length=clip.length, freeze=freeze)
        shifted = chain(layer.stream, [f("setpts", f"PTS-STARTPTS+round({clip.start:.6f}/TB)")])
        # the layer's own time 0 on this timeline's clock (before it, when the timeline began later)
        return Layer(shifted, layer.left, layer.top, layer.still, layer.size), clip.start - clip.skip
    return _xfade_layer(ctx, group, frame), group[0].start


def _xfade_layer(ctx: RenderContext, group: list[Clip], frame: Frame) -> Layer:
    """Clips merged with xfade into one frame-sized layer (xfade needs equal sizes and formats).

    The layer carries alpha only when a clip has transparency or does not fill the frame.
    """
    start = group[0].start
    alpha = not all(_opaque_full(ctx, clip, frame) for clip in group)
    streams: list[Stream] = []
    for n, clip in enumerate(group):
        following = group[n + 1] if n + 1 < len(group) else None
        # a clip lasts until the next one's transition is over, holding its last frame if needed
        end = following.start + transition(following)[1] if following else clip.end
        layer = clip_layer(ctx, clip, frame, length=end - clip.start, freeze=True, alpha=alpha)
        stream = chain(layer.stream, [f("setpts", "PTS-STARTPTS")])
        placed = _on_canvas(ctx, layer, stream, frame, end - clip.start, clip.skip) if alpha else stream
        streams.append(placed)
    merged = streams[0]
    for clip, stream in zip(group[1:], streams[1:], strict=True):
        name, seconds = transition(clip)
        merged = join(
            [merged, stream],
            "xfade",
            transition=name,
            duration=f"{seconds:.6f}",
            offset=f"{clip.start - start:.6f}",
        )
    shifted = chain(merged, [f("setpts", f"PTS-STARTPTS+round({start:.6f}/TB)")])
    return Layer(shifted, Curve.constant(0.0), Curve.constant(0.0), (0, 0), (frame.width, frame.height))


def _on_canvas(
    ctx: RenderContext, layer: Layer, stream: Stream, frame: Frame, length: float, skip: float
) -> Stream:
    """The stream placed on a transparent frame-sized canvas, unless it already fills it."""
    if layer.still == (0, 0) and layer.size == (frame.width, frame.height):
        return stream
    canvas = chain(
        source("color", c="black@0", s=f"{frame.width}x{frame.height}", r=f"{ctx.fps:g}", d=f"{length:.6f}"),
        [f("format", "yuva420p")],
    )
    x, y = layer.position(-skip)
    placed = join([canvas, stream], "overlay", x=x, y=y, eof_action="pass", format="yuv420")
    return chain(placed, [f("format", "yuva420p")])
