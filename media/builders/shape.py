"""`shape`: a rectangle, rounded rectangle, ellipse or line, drawn once at box size and held; and
the gradient fill `color` elements share.

How each part is drawn, and why:
- Fills come from the `color` and `gradients` sources, which compute every pixel in C. A linear
  gradient's two points are the CSS ones (where the corners project onto the gradient line);
  `gradients` only takes points inside its frame, so it draws a canvas large enough to hold them
  (the points slid along their perpendiculars, which changes no pixel's projection, to keep it
  small) and the box is cropped out: the colours are exactly where CSS puts them.
- Straight edges are exact with `drawbox` (`replace=1` writes colour and alpha): a plain
  rectangle's stroke and a line need nothing else.
- Round edges need per-pixel coverage. `geq` evaluates an expression per pixel, slow on video
  but run on this single frame only: a signed distance to the edge (exact for rounded
  rectangles, first order for ellipses) gives antialiased coverage in one gray plane, which
  multiplies the fill's own alpha (`blend`) and becomes the shape's alpha (`alphamerge`). Outside
  the shape the alpha is 0, so what lies below shows through.
"""

from __future__ import annotations

import math

from media.builders import Build
from media.builders.fitting import held
from media.builders.kinds import Drawn
from media.context import RenderContext
from media.graph import Filter, Stream, chain, f, join, source, split
from media.text import ffmpeg_color
from schemas.elements import ShapeElement, Stroke
from schemas.shapes import Gradient, fill_translucent
from schemas.units import resolve_length

TRANSPARENT = "0x00000000"


def translucent(element: ShapeElement) -> bool:
    """Whether the shape leaves any pixel of its box see-through."""
    if element.shape != "rectangle" or resolve_length(element.border_radius, 2.0) > 0:
        return True
    if element.fill_color is None and element.fill_gradient is None:
        return True  # an outline only
    stroke = element.stroke if element.stroke and element.stroke.width > 0 else None
    return fill_translucent(element.fill_color, element.fill_gradient) or (
        stroke is not None and fill_translucent(stroke.color, None)
    )


def build(ctx: RenderContext, job: Build) -> Stream:
    element = job.clip.element
    assert isinstance(element, ShapeElement)
    width, height = job.width, job.height
    stroke = element.stroke if element.stroke and element.stroke.width > 0 else None
    if element.shape == "line":
        assert stroke is not None  # the schema requires it
        thickness = max(1, min(height, round(stroke.width)))
        drawn = chain(
            still(ctx, "color", c=TRANSPARENT, s=f"{width}x{height}"),
            [_band(0, (height - thickness) // 2, width, thickness, stroke.color)],
        )
        return _finish(ctx, job, drawn)
    filled = fill(ctx, width, height, element.fill_color, element.fill_gradient)
    radius = _radius(element, width, height)
    if element.shape == "rectangle" and radius == 0:
        if stroke is not None:
            filled = chain(filled, [f("drawbox", x=0, y=0, w=width, h=height, t=_px(stroke.width),
                                      color=ffmpeg_color(stroke.color), replace=1)])  # fmt: skip
        return _finish(ctx, job, filled)
    distance = _ellipse(width, height) if element.shape == "ellipse" else _rounded(width, height, radius)
    inset = stroke.width if stroke is not None else 0.0
    shape = _masked(ctx, filled, _mask(ctx, width, height, distance, inset=inset))
    if stroke is not None:
        band = _mask(ctx, width, height, distance, inset=0.0, minus=inset, alpha=_alpha(stroke))
        ink = join([still(ctx, "color", c=ffmpeg_color(stroke.color[:7]), s=f"{width}x{height}"), band],
                   "alphamerge")  # fmt: skip
        shape = join([shape, ink], "overlay", format="auto")
    return _finish(ctx, job, shape)


def fill(ctx: RenderContext, width: int, height: int, color: str | None, gradient: Gradient | None) -> Stream:
    """One RGBA frame of the box's fill (a solid colour, or a gradient)."""
    size = f"{width}x{height}"
    if gradient is None:
        return chain(still(ctx, "color", c=ffmpeg_color(color or "#00000000"), s=size), [f("format", "rgba")])
    colors = {f"c{n}": ffmpeg_color(c) for n, c in enumerate(gradient.colors)}
    if gradient.type == "radial":
        canvas_w, canvas_h, left, top, *points = (width, height, 0, 0, *_radial(width, height))
    else:
        canvas_w, canvas_h, left, top, *points = _linear(width, height, gradient.angle)
    x0, y0, x1, y1 = points
    drawn = still(ctx, "gradients", s=f"{canvas_w}x{canvas_h}", n=len(gradient.colors), **colors,
                  speed=0, type=gradient.type, x0=x0, y0=y0, x1=x1, y1=y1)  # fmt: skip
    crop = [f("crop", w=width, h=height, x=left, y=top)] if (canvas_w, canvas_h) != (width, height) else []
    return chain(drawn, [*crop, f("format", "rgba")])


def still(ctx: RenderContext, name: str, **options: object) -> Stream:
    """A source filter's first frame, alone."""
    return chain(source(name, r=f"{ctx.fps:g}", d=1, **options), [f("trim", end_frame=1)])


def _finish(ctx: RenderContext, job: Build, stream: Stream) -> Stream:
    return held(ctx, job, chain(stream, [f("format", "yuva420p" if job.alpha else "yuv420p")]))


def _px(value: float) -> int:
    return max(1, round(value))


def _band(x: int, y: int, w: int, h: int, color: str) -> Filter:
    return f("drawbox", x=x, y=y, w=w, h=h, t="fill", color=ffmpeg_color(color), replace=1)


def _alpha(stroke: Stroke) -> float:
    return int(stroke.color[7:9], 16) / 255 if len(stroke.color) == 9 else 1.0


def _radius(element: ShapeElement, width: int, height: int) -> float:
    """Corner radius in pixels: percent is of the shorter side; at most half of it."""
    shorter = min(width, height)
    return min(shorter / 2, max(0.0, resolve_length(element.border_radius, shorter)))


def _rounded(width: int, height: int, radius: float) -> str:
    """Signed distance (pixels, negative inside) from a pixel's centre to a rounded rectangle."""
    hx, hy, r = width / 2, height / 2, radius
    px = f"(abs(X+0.5-{hx:g})-{hx - r:g})"
    py = f"(abs(Y+0.5-{hy:g})-{hy - r:g})"
    return f"(hypot(max({px},0),max({py},0))+min(max({px},{py}),0)-{r:g})"


def _ellipse(width: int, height: int) -> str:
    """Distance to an ellipse to first order: its implicit function over its gradient's length."""
    a, b = width / 2, height / 2
    u, v = f"((X+0.5-{a:g})/{a:g})", f"((Y+0.5-{b:g})/{b:g})"
    return f"(({u}*{u}+{v}*{v}-1)/(2*max(hypot({u}/{a:g},{v}/{b:g}),1e-9)))"


def _mask(
    ctx: RenderContext,
    width: int,
    height: int,
    distance: str,
    *,
    inset: float,
    minus: float | None = None,
    alpha: float = 1.0,
) -> Stream:
    """Coverage (0-255) of the shape shrunk by `inset` pixels, less that of the shape shrunk by
    `minus` (a band: the stroke), as one gray frame."""
    cover = "clip(0.5-ld(0)-{:g},0,1)"
    expr = cover.format(inset) if minus is None else f"({cover.format(inset)}-{cover.format(minus)})"
    canvas = still(ctx, "color", c="black", s=f"{width}x{height}")
    return chain(canvas, [f("format", "gray"), f("geq", lum=f"st(0,{distance});{255 * alpha:.3f}*{expr}")])


def _masked(ctx: RenderContext, fill_rgba: Stream, mask: Stream) -> Stream:
    """The fill with its alpha multiplied by the mask's coverage."""
    colour, alpha = split(fill_rgba, 2)
    covered = join([chain(alpha, [f("alphaextract")]), mask], "blend", all_mode="multiply")
    return join([colour, covered], "alphamerge")


def _linear(width: int, height: int, angle: float) -> tuple[int, int, int, int, int, int, int, int]:
    """A canvas holding the box and the CSS gradient line's ends (gradients only takes points
    inside its frame): its size, the box's offset in it, and the points x0, y0, x1, y1."""
    theta = math.radians(angle)
    dx, dy = (
        round(math.sin(theta), 12),
        round(-math.cos(theta), 12),
    )  # where colours run, y down; exact at 90°
    half = max(0.5, (abs((width - 1) * dx) + abs((height - 1) * dy)) / 2)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    start, end = (cx - dx * half, cy - dy * half), (cx + dx * half, cy + dy * half)
    px, py = -dy, dx  # sliding both ends along this keeps every pixel's projection

    def placed(k: float) -> tuple[int, int, int, int, int, int, int, int]:
        x0, y0 = round(start[0] + k * px), round(start[1] + k * py)
        x1, y1 = round(end[0] + k * px), round(end[1] + k * py)
        left, top = min(0, x0, x1), min(0, y0, y1)
        right, bottom = max(width - 1, x0, x1), max(height - 1, y0, y1)
        return (right - left + 1, bottom - top + 1, -left, -top, x0 - left, y0 - top, x1 - left, y1 - top)

    # The ends as they are, or slid until one is on its corner: the smallest canvas of the three.
    slides = [0.0] + [
        (corner[0] - point[0]) * px + (corner[1] - point[1]) * py
        for point, corner in (
            (start, _corner(width, height, -dx, -dy)),
            (end, _corner(width, height, dx, dy)),
        )
    ]
    return min((placed(k) for k in slides), key=lambda canvas: canvas[0] * canvas[1])


def _corner(width: int, height: int, dx: float, dy: float) -> tuple[int, int]:
    """The box's corner furthest along (dx, dy)."""
    return (width - 1 if dx > 0 else 0), (height - 1 if dy > 0 else 0)


def _radial(width: int, height: int) -> tuple[int, int, int, int]:
    """From the box's centre (first colour) to its corners (last colour)."""
    cx, cy = round((width - 1) / 2), round((height - 1) / 2)
    return (cx, cy, 0, 0) if (cx, cy) != (0, 0) else (0, 0, 1, 1)


class ShapeElementKind(Drawn):
    model = ShapeElement
    builder = staticmethod(build)

    def needs_alpha(self, job: Build) -> bool:
        element = job.clip.element
        assert isinstance(element, ShapeElement)
        return translucent(element)


KIND = ShapeElementKind()
