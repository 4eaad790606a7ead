"""The learning estimator's fit, without a store."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import pytest

from analytics.estimator import (
    MIN_SECONDS,
    QUEUE_FACTOR_PRIOR,
    Fit,
    Sample,
    fit_format,
    own,
    parse_fits,
    queued,
)
from schemas.events import Ahead, Workload

# 0.8 s + 0.1 s per 720p-second encoded + 0.05 s per layer-second + 0.3 s per effect + 0.2 s for a
# stream copy; a job waits 0.6 s per second of that work ahead, per worker.
COSTS = (0.8, 0.1, 0.05, 0.3, 0.2)
FACTOR = 0.6


def load(pixel: float = 0.0, layer: float = 0.0, effects: int = 0, copy: bool = False) -> Workload:
    return Workload(pixel_seconds=pixel, layer_seconds=layer, effects=effects, stream_copy=copy)


def sample(job: Workload, ahead: Sequence[Workload] = (), workers: int = 1) -> Sample:
    x, q = own(job), queued(Ahead.of((w, 1.0) for w in ahead), workers)
    seconds = sum(c * (o + FACTOR * a) for c, o, a in zip(COSTS, x, q, strict=True))
    return x, q, seconds


CARD, PRD, LONG, COPY = load(1, 3), load(10, 20), load(15, 45, effects=2), load(copy=True)


def test_fit_recovers_the_costs_and_the_queue_factor() -> None:
    samples = [
        sample(CARD),
        sample(PRD),
        sample(LONG),
        sample(COPY),
        sample(load(30, 10, effects=1)),
        sample(load(2, 40)),
        sample(PRD, [CARD, LONG]),
        sample(COPY, [PRD, PRD, COPY]),
        sample(CARD, [LONG] * 4, workers=2),
        sample(LONG, [CARD, COPY, PRD, LONG, CARD]),
    ]
    fit = fit_format(samples)
    assert fit.coefficients == pytest.approx(COSTS, rel=0.02)
    assert fit.queue_factor == pytest.approx(FACTOR, rel=0.02)
    assert fit.jobs == len(samples)
    # A prd behind two longs on one worker: its own 2.8 s, then 0.6 x 2 x 5.15 s.
    x, q, _ = sample(PRD, [LONG, LONG])
    assert fit.seconds(x, q) == pytest.approx(2.8 + 0.6 * 2 * 5.15, rel=0.01)


def test_the_work_ahead_is_shared_by_the_workers() -> None:
    ahead = Ahead.of([(PRD, 1.0), (LONG, 0.5)])  # the long one is half done
    assert ahead == Ahead(jobs=1.5, pixel_seconds=17.5, layer_seconds=42.5, effects=1.0, stream_copies=0.0)
    assert queued(ahead, 2) == [0.75, 8.75, 21.25, 0.5, 0.0]
    assert queued(ahead, 0) == queued(ahead, 1)  # no worker seen yet counts as one


def test_without_queued_jobs_in_the_history_the_work_ahead_counts_as_if_alone() -> None:
    fit = fit_format([sample(job) for job in (CARD, PRD, LONG, COPY, load(2, 40), load(30, 10))])
    assert fit.queue_factor == QUEUE_FACTOR_PRIOR
    x, q, _ = sample(CARD, [PRD, PRD])
    assert fit.seconds(x, q) == pytest.approx(1.05 + 2 * 2.8, rel=0.01)


def test_costs_never_go_negative() -> None:
    # Jobs with effects happened to be faster: no effect can save time, so effects cost 0, not < 0.
    samples = [
        (own(load(p, effects=e)), [0.0] * 5, 1.0 + 0.2 * p - 0.3 * e)
        for p, e in [(2, 0), (4, 1), (8, 2), (16, 0), (3, 3)]
    ]
    fit = fit_format(samples)
    assert min(fit.coefficients) >= 0 and fit.coefficients[3] == 0


def test_a_feature_never_seen_costs_nothing() -> None:
    fit = fit_format([sample(load(w, 2 * w)) for w in (1, 2, 4, 8, 16)])
    assert fit.coefficients[3:] == (0.0, 0.0)  # no effect or stream copy in the history
    x, q, seconds = sample(load(6, 12))
    assert fit.seconds(x, q) == pytest.approx(seconds, rel=0.01)


def test_small_jobs_are_not_sacrificed_to_noisy_big_ones() -> None:
    # What estimate_accuracy measures is relative: plain least squares would fit the big jobs'
    # noise and miss 1 s jobs by several times; each job counts by its error relative to its estimate.
    none = [0.0] * 5
    small = [(own(load(1)), none, 1.0)] * 5
    big = [(own(load(p)), none, s) for p, s in [(100, 40), (100, 70), (120, 50), (120, 75)] * 5]
    fit = fit_format(small + big)
    assert fit.seconds(own(load(1)), none) == pytest.approx(1.0, rel=0.2)
    assert statistics.median(abs(s / fit.seconds(x, q) - 1) for x, q, s in small + big) < 0.25


def test_an_estimate_is_never_below_the_floor() -> None:
    assert Fit((0.0,) * 5, 1.0, 1).seconds(own(CARD), [0.0] * 5) == MIN_SECONDS


def test_formats_need_enough_history_and_complete_rows() -> None:
    def row(fmt: str, pixel: object, seconds: float) -> list[object]:
        return [fmt, pixel, 0.0, 0, 0, *([0.0] * 5), 1, seconds]

    rows = [row("mp4", w, 1 + w) for w in range(1, 6)] + [row("mp4", None, 3.0), row("gif", 1, 2)]
    fits = parse_fits(rows)
    assert set(fits) == {"mp4"} and fits["mp4"].jobs == 5
