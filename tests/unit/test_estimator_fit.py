"""The learning estimator's fit, without a store."""

from __future__ import annotations

import statistics

import pytest

from analytics.estimator import MIN_SECONDS, Fit, Queue, features, fit_format, parse_fits
from schemas.events import Workload

# 0.8 s + 0.1 s per 720p-second encoded + 0.05 per layer-second + 0.3 per effect + 0.2 for a stream
# copy, then 1.5 s per job ahead and 0.02 s per 720p-second of work ahead, shared by the workers.
TRUE = (0.8, 0.1, 0.05, 0.3, 0.2, 1.5, 0.02)


def x(
    pixel: float = 0.0,
    layer: float = 0.0,
    effects: int = 0,
    copy: bool = False,
    backlog: int = 0,
    ahead: float = 0.0,
    workers: int = 1,
) -> list[float]:
    workload = Workload(pixel_seconds=pixel, layer_seconds=layer, effects=effects, stream_copy=copy)
    return features(workload, Queue(backlog=backlog, work_ahead=ahead, workers=workers))


def exact(point: list[float], coefficients: tuple[float, ...] = TRUE) -> float:
    return sum(c * v for c, v in zip(coefficients, point, strict=True))


def test_fit_recovers_own_work_and_queue_terms() -> None:
    points = [
        x(pixel=2, layer=4),
        x(pixel=10, layer=30, effects=2),
        x(pixel=20, layer=20),
        x(copy=True),
        x(copy=True, backlog=3, ahead=60),
        x(pixel=5, layer=15, backlog=8, ahead=200),
        x(pixel=15, layer=60, effects=1, backlog=2, ahead=10),
        x(pixel=1, layer=1, backlog=20, ahead=400, workers=2),
        x(pixel=30, layer=10, effects=4),
        x(layer=50, backlog=12, ahead=30),
        x(pixel=8, effects=3, backlog=1, ahead=300),
        x(copy=True, effects=2, backlog=6),
    ]
    fit = fit_format([(p, exact(p)) for p in points])
    assert fit.coefficients == pytest.approx(TRUE, rel=0.02)
    assert fit.jobs == len(points)
    assert fit.seconds(x(pixel=10, layer=20, backlog=4, ahead=100)) == pytest.approx(10.8, rel=0.01)


def test_the_queue_is_shared_by_the_workers() -> None:
    assert x(backlog=8, ahead=40, workers=2)[-2:] == [4.0, 20.0]
    assert x(backlog=8, ahead=40, workers=0)[-2:] == [8.0, 40.0]  # no worker seen yet counts as one


def test_coefficients_never_go_negative() -> None:
    # Jobs with effects happened to be faster: no effect can save time, so effects get 0, not < 0.
    samples = [
        (x(pixel=p, effects=e), 1.0 + 0.2 * p - 0.3 * e) for p, e in [(2, 0), (4, 1), (8, 2), (16, 0), (3, 3)]
    ]
    fit = fit_format(samples)
    assert min(fit.coefficients) >= 0 and fit.coefficients[3] == 0


def test_a_feature_never_seen_costs_nothing() -> None:
    samples = [(p, exact(p)) for p in (x(pixel=w, layer=2 * w) for w in (1, 2, 4, 8, 16))]
    fit = fit_format(samples)
    assert fit.coefficients[3:] == (0.0, 0.0, 0.0, 0.0)  # no effect, copy or queue in the history
    assert fit.seconds(x(pixel=6, layer=12)) == pytest.approx(exact(x(pixel=6, layer=12)), rel=0.01)


def test_small_jobs_are_not_sacrificed_to_noisy_big_ones() -> None:
    # What estimate_accuracy measures is relative: plain least squares would fit the big jobs'
    # noise and miss 1 s jobs by several times; each job counts by its error relative to its estimate.
    small = [(x(pixel=1), 1.0)] * 5
    big = [(x(pixel=p), s) for p, s in [(100, 40), (100, 70), (120, 50), (120, 75)] * 5]
    fit = fit_format(small + big)
    assert fit.seconds(x(pixel=1)) == pytest.approx(1.0, rel=0.2)
    assert statistics.median(abs(s / fit.seconds(p) - 1) for p, s in small + big) < 0.25


def test_an_estimate_is_never_below_the_floor() -> None:
    assert Fit((0.0,) * len(TRUE), 1).seconds(x()) == MIN_SECONDS


def test_formats_need_enough_history_and_complete_rows() -> None:
    def row(fmt: str, pixel: object, seconds: float) -> list[object]:
        return [fmt, pixel, 0.0, 0, 0, 0, 0.0, 1, seconds]

    rows = [row("mp4", w, 1 + w) for w in range(1, 6)] + [row("mp4", None, 3.0), row("gif", 1, 2)]
    fits = parse_fits(rows)
    assert set(fits) == {"mp4"} and fits["mp4"].jobs == 5
