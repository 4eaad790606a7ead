"""Properties over time: keyframes and animation presets as curves.

A curve answers twice: `at(t)` in Python (for sizes, bounds and sampled commands) and `expr(t)`
as an FFmpeg expression in a time variable (for filters that evaluate per frame), so what the
compiler plans and what FFmpeg draws are the same function. Easings shape the segment arriving
at a keyframe: cubic in, out and in-out, or a step at the keyframe's time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Ease = Callable[[float], float]

EASE: dict[str, Ease] = {
    "linear": lambda p: p,
    "ease-in": lambda p: p**3,
    "ease-out": lambda p: 1 - (1 - p) ** 3,
    "ease-in-out": lambda p: 4 * p**3 if p < 0.5 else 1 - (-2 * p + 2) ** 3 / 2,
    "step": lambda p: 1.0 if p >= 1 else 0.0,
}
EASE_EXPR: dict[str, str] = {
    "linear": "{p}",
    "ease-in": "pow({p},3)",
    "ease-out": "(1-pow(1-{p},3))",
    "ease-in-out": "if(lt({p},0.5),4*pow({p},3),1-pow(2-2*{p},3)/2)",
    "step": "gte({p},1)",
}


def _num(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") if value == value else "0"


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

    def _own_at(self, t: float) -> float:
        points = self.points
        if t <= points[0][0]:
            return points[0][1]
        for (t0, v0, _), (t1, v1, easing) in itertools.pairwise(points):
            if t < t1:
                return v0 + (v1 - v0) * EASE[easing]((t - t0) / (t1 - t0))
        return points[-1][1]

    def at(self, t: float) -> float:
        value = self._own_at(t) + sum(part.at(t) for part in self.parts)
        for factor in self.factors:
            value *= factor.at(t)
        return value

    def _own_expr(self, t: str) -> str:
        points = self.points
        expr = _num(points[-1][1])
        for (t0, v0, _), (t1, v1, easing) in reversed(list(itertools.pairwise(points))):
            progress = f"clip(({t}-{_num(t0)})/{_num(t1 - t0)},0,1)"
            segment = f"{_num(v0)}+({_num(v1 - v0)})*{EASE_EXPR[easing].format(p=progress)}"
            expr = f"if(lt({t},{_num(t1)}),{segment},{expr})"
        return expr

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


def _sample_times(keys: Sequence[float], length: float) -> list[float]:
    times = {0.0, length, *(k for k in keys if 0 <= k <= length)}
    steps = 64
    times.update(length * n / steps for n in range(steps + 1))
    return sorted(times)
