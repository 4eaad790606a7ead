"""FFmpeg computes what Python plans: every easing's expression, and curves of many keyframes,
evaluated by FFmpeg itself (aevalsrc, one channel per expression, one sample per point) and
compared with the Python function at each point."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from media.graph import command, source
from media.motion import Curve, ease, ease_expr
from schemas.motion import EASINGS
from tests.engine.conftest import FFMPEG

RATE = 1000  # samples per second: points at t = n / RATE
BEZIERS = ["cubic-bezier(0.25, 0.1, 0.25, 1)", "cubic-bezier(0, 0, 1, 1)", "cubic-bezier(.68,-0.6,.32,1.6)"]


def _evaluate(tmp_path: Path, exprs: list[str], seconds: float) -> np.ndarray:
    """Each expression of `t` at t = 0, 1/RATE, ... below `seconds`: one column per expression."""
    samples = round(seconds * RATE)
    stream = source("aevalsrc", exprs="|".join(exprs), s=RATE, d=f"{samples / RATE:.6f}")
    out = tmp_path / "values.f32"
    options: dict[str, object] = {"f": "f32le", "c:a": "pcm_f32le"}
    argv = command(
        [([stream], str(out), options)], ["-hide_banner", "-loglevel", "error", "-y", "-threads", "1"]
    )
    at = argv.index("-filter_complex")  # through a file: a thousand keyframes are too long for argv
    graph = tmp_path / "graph.txt"
    graph.write_text(argv[at + 1])
    argv[at : at + 2] = ["-/filter_complex", str(graph)]
    subprocess.run([FFMPEG, *argv], check=True, timeout=120)
    return np.frombuffer(out.read_bytes(), dtype="<f4").reshape(-1, len(exprs))[:samples]


def test_every_easing_expression_agrees_with_its_function(tmp_path: Path) -> None:
    names = [*EASINGS, *BEZIERS]
    values = _evaluate(tmp_path, [ease_expr(name, "t") for name in names], 1.001)
    for column, name in enumerate(names):
        expected = [ease(name)(n * (1 / RATE)) for n in range(len(values))]
        error = float(np.abs(values[:, column] - expected).max())
        assert error < 1e-4, (name, error)


@pytest.mark.parametrize("count", [3, 50, 1000])
def test_a_curve_expression_agrees_with_the_curve(tmp_path: Path, count: int) -> None:
    choices = [*EASINGS, *BEZIERS]
    points = tuple(
        (0.1 + 1.8 * k / (count - 1), float((k * 37) % 11 - 5), choices[k % len(choices)])
        for k in range(count)
    )
    curve = Curve(points).plus(Curve.ramp(0.5, 1.5, 0, 10, "ease-in-out-back"))
    values = _evaluate(tmp_path, [curve.expr("t")], 2.0)[:, 0]
    expected = np.array([curve.at(n * (1 / RATE)) for n in range(len(values))])
    assert float(np.abs(values - expected).max()) < 1e-3
