"""The learning estimator's fit, without a store."""

from __future__ import annotations

import pytest

from analytics.estimator import Fit, fit_format, least_squares, parse_fits


def test_plane_recovers_size_and_queue_terms() -> None:
    # 1 s + 0.5 s per 720p-second + 2 s per job queued ahead
    samples = [(w, b, 1.0 + 0.5 * w + 2.0 * b) for w, b in [(2, 0), (4, 3), (10, 1), (20, 0), (8, 6), (1, 2)]]
    fit = fit_format(samples)
    assert (fit.intercept, fit.slope, fit.per_queued) == pytest.approx((1.0, 0.5, 2.0), abs=1e-6)
    assert fit.seconds(10, 4) == pytest.approx(14.0)


def test_constant_queue_falls_back_to_the_line() -> None:
    fit = fit_format([(w, 0.0, 2.0 + 0.25 * w) for w in (1, 2, 4, 8, 16)])
    assert fit == Fit(pytest.approx(2.0), pytest.approx(0.25), 5)


def test_unexplained_times_give_the_median() -> None:
    fit = fit_format([(5.0, 0.0, s) for s in (3.0, 9.0, 4.0, 7.0, 5.0)])
    assert (fit.slope, fit.intercept) == (0.0, 5.0)


def test_singular_system_is_none() -> None:
    assert least_squares([(1.0, 2.0), (1.0, 2.0)], [1.0, 1.0]) is None


def test_formats_need_enough_history() -> None:
    rows: list[list[object]] = [["mp4", w, 0, 1 + w] for w in range(1, 7)] + [["gif", 1, 0, 2]]
    assert set(parse_fits(rows)) == {"mp4"}
