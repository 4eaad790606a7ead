"""Properties over time: keyframes and animation presets as curves.

A curve answers twice: `at(t)` in Python (for sizes, bounds and sampled commands) and `expr(t)`
as an FFmpeg expression in a time variable (for filters that evaluate per frame), so what the
compiler plans and what FFmpeg draws are the same function. Easings shape the segment arriving
at a keyframe; each is written once per side (a Python function, an expression template) and
tests hold the two together.

An expression picks its keyframe segment by a balanced tree of if()s, so its nesting grows with
log2 of the keyframe count (FFmpeg's parser refuses a few dozen levels).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from schemas.motion import EASING_FAMILIES, cubic_bezier

Ease = Callable[[float], float]

BEZIER_STEPS = 20  # bisection halvings: the curve's time within 2**-21, its value within 1e-5


def _bounce_out(p: float) -> float:
    if p < 1 / 2.75:
        return 7.5625 * p * p
    if p < 2 / 2.75:
        return 7.5625 * (p - 1.5 / 2.75) ** 2 + 0.75
    if p < 2.5 / 2.75:
        return 7.5625 * (p - 2.25 / 2.75) ** 2 + 0.9375
    return 7.5625 * (p - 2.625 / 2.75) ** 2 + 0.984375


_BOUNCE_OUT = (
    "if(lt({p},1/2.75),7.5625*{p}*{p},if(lt({p},2/2.75),7.5625*pow({p}-1.5/2.75,2)+0.75,"
    "if(lt({p},2.5/2.75),7.5625*pow({p}-2.25/2.75,2)+0.9375,7.5625*pow({p}-2.625/2.75,2)+0.984375)))"
)
_BACK, _BACK_IN_OUT = 1.70158, 1.70158 * 1.525


def _elastic(p: float, rise: float, shift: float, period: float) -> float:
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    return -(2 ** (rise * p - rise)) * math.sin((rise * p - shift) * 2 * math.pi / period)


def _elastic_expr(rise: float, shift: float, period: float) -> str:
    wave = f"pow(2,{rise:g}*{{p}}-{rise:g})*sin(({rise:g}*{{p}}-{shift:g})*2*PI/{period:g})"
    return f"if(lte({{p}},0),0,if(gte({{p}},1),1,-{wave}))"


# Each family's ease-in (Python, FFmpeg template in {p}); ease-out is 1 - in(1 - p) and ease-in-out
# in(2p)/2 then 1 - in(2 - 2p)/2, which are easings.net's formulas (back and elastic's in-out use
# their own in-curve, below).
_IN: dict[str, tuple[Ease, str]] = {
    "sine": (lambda p: 1 - math.cos(p * math.pi / 2), "(1-cos({p}*PI/2))"),
    "quad": (lambda p: p**2, "pow({p},2)"),
    "cubic": (lambda p: p**3, "pow({p},3)"),
    "quart": (lambda p: p**4, "pow({p},4)"),
    "quint": (lambda p: p**5, "pow({p},5)"),
    "expo": (lambda p: 0.0 if p <= 0 else 2 ** (10 * p - 10), "if(lte({p},0),0,pow(2,10*{p}-10))"),
    "circ": (lambda p: 1 - math.sqrt(1 - p * p), "(1-sqrt(1-{p}*{p}))"),
    "back": (
        lambda p: (_BACK + 1) * p**3 - _BACK * p**2,
        f"({_BACK + 1:g}*pow({{p}},3)-{_BACK:g}*pow({{p}},2))",
    ),
    "elastic": (lambda p: _elastic(p, 10, 10.75, 3), _elastic_expr(10, 10.75, 3)),
    "bounce": (lambda p: 1 - _bounce_out(1 - p), "(1-" + _BOUNCE_OUT.replace("{p}", "(1-{p})") + ")"),
}
_IN_FOR_IN_OUT: dict[str, tuple[Ease, str]] = {
    "back": (
        lambda p: (_BACK_IN_OUT + 1) * p**3 - _BACK_IN_OUT * p**2,
        f"({_BACK_IN_OUT + 1:.9g}*pow({{p}},3)-{_BACK_IN_OUT:.9g}*pow({{p}},2))",
    ),
    "elastic": (lambda p: _elastic(p, 10, 11.125, 4.5), _elastic_expr(10, 11.125, 4.5)),
}
_ALIASES = {"ease-in": "ease-in-cubic", "ease-out": "ease-out-cubic", "ease-in-out": "ease-in-out-cubic"}


def _sub(template: str, p: str) -> str:
    return template.replace("{p}", p)


def _named(name: str) -> tuple[Ease, str]:
    if name == "linear":
        return (lambda p: p), "{p}"
    if name == "step":
        return (lambda p: 1.0 if p >= 1 else 0.0), "gte({p},1)"
    name = _ALIASES.get(name, name)
    way, family = name.removeprefix("ease-").rsplit("-", 1)
    assert family in EASING_FAMILIES, name  # names are checked by the schema
    if way == "in":
        return _IN[family]
    if way == "out":
        fn, template = _IN[family]
        return (lambda p: 1 - fn(1 - p)), "(1-" + _sub(template, "(1-{p})") + ")"
    fn, template = _IN_FOR_IN_OUT.get(family, _IN[family])
    first, second = _sub(template, "(2*{p})"), _sub(template, "(2-2*{p})")
    return (lambda p: fn(2 * p) / 2 if p < 0.5 else 1 - fn(2 - 2 * p) / 2), (
        f"if(lt({{p}},0.5),{first}/2,1-{second}/2)"
    )


def _bezier(name: str) -> tuple[Ease, str]:
    """CSS cubic-bezier: the curve's time x(s) solved for s by bisection, its value y(s) returned.
    The expression unrolls the same halvings on FFmpeg's variables (0: progress, 1 and 2: the
    bracket, 3: its middle), so both sides compute the same numbers."""
    x1, y1, x2, y2 = cubic_bezier(name)
    cx, cy = 3 * x1, 3 * y1
    bx, by = 3 * (x2 - x1) - cx, 3 * (y2 - y1) - cy
    ax, ay = 1 - cx - bx, 1 - cy - by

    def ease(p: float) -> float:
        lo, hi = 0.0, 1.0
        for _ in range(BEZIER_STEPS):
            mid = (lo + hi) / 2
            if ((ax * mid + bx) * mid + cx) * mid < p:
                lo = mid
            else:
                hi = mid
        s = (lo + hi) / 2
        return ((ay * s + by) * s + cy) * s

    def poly(a: float, b: float, c: float) -> str:
        return f"(({a:.12g})*ld(3)+({b:.12g}))*ld(3)+({c:.12g})"

    halving = f"st(3,(ld(1)+ld(2))/2);if(lt(({poly(ax, bx, cx)})*ld(3),ld(0)),st(1,ld(3)),st(2,ld(3)));"
    template = (
        "(st(0,{p});st(1,0);st(2,1);"
        + halving * BEZIER_STEPS
        + f"st(3,(ld(1)+ld(2))/2);({poly(ay, by, cy)})*ld(3))"
    )
    return ease, template


@lru_cache(maxsize=256)
def _easing(name: str) -> tuple[Ease, str]:
    return _bezier(name) if name.startswith("cubic-bezier") else _named(name.strip())


def ease(name: str) -> Ease:
    """The easing `name` (a schema-checked name or cubic-bezier) as a function of progress 0..1."""
    return _easing(name.strip())[0]


def ease_expr(name: str, p: str) -> str:
    """The easing as an FFmpeg expression of the progress expression `p` (which it evaluates
    once: a template using its progress more than once keeps it in variable 0)."""
    template = _easing(name.strip())[1]
    if template.startswith("(st(0,") or template.count("{p}") <= 1:
        return _sub(template, p)
    return f"(st(0,{p});{_sub(template, 'ld(0)')})"


def _num(value: float) -> str:
    """A number for an expression, precise enough that its segments meet where Python's do."""
    return f"{value:.10g}" if value == value else "0"


@dataclass(frozen=True)
class Curve:
    """A piecewise function of local time: (time, value, easing arriving there), times ascending.

    `parts` add further curves (animation offsets); `factors` multiply (fades, scale presets).
    """

    points: tuple[tuple[float, float, str], ...]
    parts: tuple[Curve, ...] = ()
    factors: tuple[Curve, ...] = ()

    @classmethod
    def constant(cls, value: float) -> Curve:
        return cls(((0.0, value, "linear"),))

    @classmethod
    def ramp(cls, start: float, end: float, first: float, last: float, easing: str = "linear") -> Curve:
        return cls(((start, first, "linear"), (end, last, easing)))

    def plus(self, other: Curve) -> Curve:
        return Curve(self.points, (*self.parts, other), self.factors)

    def times(self, other: Curve) -> Curve:
        return Curve(self.points, self.parts, (*self.factors, other))

    @property
    def is_constant(self) -> bool:
        own = len({value for _, value, _ in self.points}) == 1
        return own and all(c.is_constant for c in (*self.parts, *self.factors))

    @property
    def changes_at(self) -> list[float]:
        """The keyframe times of this curve and its parts (where motion starts and stops)."""
        times = {t for t, _, _ in self.points}
        for curve in (*self.parts, *self.factors):
            times.update(curve.changes_at)
        return sorted(times)

    @cached_property
    def _times(self) -> list[float]:
        return [t for t, _, _ in self.points]

    def _own_at(self, t: float) -> float:
        points = self.points
        k = bisect.bisect_right(self._times, t)  # points[k - 1] <= t < points[k]
        if k == 0 or len(points) == 1:
            return points[0][1]
        if k == len(points):
            return points[-1][1]
        (t0, v0, _), (t1, v1, easing) = points[k - 1], points[k]
        return v0 + (v1 - v0) * ease(easing)((t - t0) / (t1 - t0))

    def at(self, t: float) -> float:
        value = self._own_at(t) + sum(part.at(t) for part in self.parts)
        for factor in self.factors:
            value *= factor.at(t)
        return value

    def _own_expr(self, t: str) -> str:
        """Segment k (keyframe k to k + 1) holds while t is before keyframe k + 1, the last
        value after that: leaves picked by halving, if(lt(t, split), left half, right half)."""
        points = self.points
        leaves = [_segment(t, start, end) for start, end in itertools.pairwise(points)]
        leaves.append(_num(points[-1][1]))

        def pick(first: int, last: int) -> str:
            if first == last:
                return leaves[first]
            middle = (first + last) // 2
            split = _num(points[middle + 1][0])
            return f"if(lt({t},{split}),{pick(first, middle)},{pick(middle + 1, last)})"

        return pick(0, len(leaves) - 1)

    def expr(self, t: str = "t") -> str:
        """The curve as an FFmpeg expression in the time variable `t` (an expression itself)."""
        if self.is_constant:
            return _num(self.at(0.0))
        terms = [self._own_expr(t), *(part.expr(t) for part in self.parts)]
        value = terms[0] if len(terms) == 1 else "(" + "+".join(terms) + ")"
        for factor in self.factors:
            value = f"{value}*({factor.expr(t)})"
        return value

    def bounds(self, length: float) -> tuple[float, float]:
        """Lowest and highest value over [0, length] (sampled between keyframes)."""
        samples = [self.at(t) for t in _sample_times(self.changes_at, length)]
        return min(samples), max(samples)


def _segment(t: str, start: tuple[float, float, str], end: tuple[float, float, str]) -> str:
    (t0, v0, _), (t1, v1, easing) = start, end
    progress = f"clip(({t}-{_num(t0)})/{_num(t1 - t0)},0,1)"
    return f"{_num(v0)}+({_num(v1 - v0)})*{ease_expr(easing, progress)}"


def _sample_times(keys: Sequence[float], length: float) -> list[float]:
    times = {0.0, length, *(k for k in keys if 0 <= k <= length)}
    steps = 64
    times.update(length * n / steps for n in range(steps + 1))
    return sorted(times)
