"""The estimate that learns: processing seconds as a plane in output size and queue, per output format.

For each format, recent completed jobs are fitted `seconds = intercept + slope · work + per_queued ·
backlog` by least squares, with work the output's duration * pixels in 720p-equivalent seconds (what
the baseline formula scales with, known both before a job, from the spec, and after it, from the
result) and backlog the jobs unfinished when the job was accepted: a job submitted behind a burst
waits for it, and without that term the waits of bursts inflate the estimate of every lone job.
A format with too little history (or a fit that makes no sense) keeps the baseline formula of
media/estimate.py.

`estimate` never waits for the store: it answers from the last fit and, when that is stale, starts a
refit in the background.
"""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analytics.client import AnalyticsClient, call_async, client_from_settings
from media.estimate import estimate_seconds, planned_duration
from schemas.settings import Settings
from schemas.spec import VideoSpec

log = logging.getLogger(__name__)

REFERENCE_PIXELS = 1280 * 720
MIN_JOBS = 5
RECENT_JOBS = 500

FIT_SQL = f"""
SELECT output_format, work, backlog, processing_seconds
FROM (
    SELECT output_format, processing_seconds, ifNull(backlog, 0) AS backlog,
           width * height * output_duration_seconds / {REFERENCE_PIXELS} AS work
    FROM finished_jobs
    WHERE status = 'completed' AND processing_seconds > 0 AND output_format IS NOT NULL
      AND width IS NOT NULL AND height IS NOT NULL AND output_duration_seconds IS NOT NULL
    ORDER BY finished_at DESC
    LIMIT {RECENT_JOBS} BY output_format
)
"""


@dataclass(frozen=True)
class Fit:
    intercept: float
    slope: float
    jobs: int
    per_queued: float = 0.0

    def seconds(self, work: float, backlog: int = 0) -> float:
        return round(self.intercept + self.slope * work + self.per_queued * backlog, 2)


def work(spec: VideoSpec) -> float:
    """Output duration * pixels, in seconds of 720p."""
    return planned_duration(spec) * spec.out_width * spec.out_height / REFERENCE_PIXELS


def least_squares(features: Sequence[Sequence[float]], targets: Sequence[float]) -> list[float] | None:
    """Coefficients minimising the squared error (normal equations, Gaussian elimination with
    partial pivoting); None when the features do not determine them (e.g. a constant column)."""
    n = len(features[0])
    matrix = [[sum(f[i] * f[j] for f in features) for j in range(n)] for i in range(n)]
    vector = [sum(f[i] * t for f, t in zip(features, targets, strict=True)) for i in range(n)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(matrix[r][col]))
        if abs(matrix[pivot][col]) < 1e-9 * max(1.0, abs(matrix[col][col])):
            return None
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        vector[col], vector[pivot] = vector[pivot], vector[col]
        for row in range(col + 1, n):
            factor = matrix[row][col] / matrix[col][col]
            matrix[row] = [a - factor * b for a, b in zip(matrix[row], matrix[col], strict=True)]
            vector[row] -= factor * vector[col]
    solution = [0.0] * n
    for row in reversed(range(n)):
        rest = sum(matrix[row][k] * solution[k] for k in range(row + 1, n))
        solution[row] = (vector[row] - rest) / matrix[row][row]
    return solution


def fit_format(samples: list[tuple[float, float, float]]) -> Fit:
    """The plane through (work, backlog, seconds), or the line in work when the queue never varied
    or slows nothing; the median when work does not explain the time either."""
    seconds = [s for _, _, s in samples]
    plane = least_squares([(1.0, w, b) for w, b, _ in samples], seconds)
    if plane and plane[1] > 0 and plane[2] >= 0:
        return Fit(max(0.0, plane[0]), plane[1], len(samples), plane[2])
    line = least_squares([(1.0, w) for w, _, _ in samples], seconds)
    if line and line[1] > 0:
        return Fit(max(0.0, line[0]), line[1], len(samples))
    return Fit(statistics.median(seconds), 0.0, len(samples))


def parse_fits(rows: list[list[object]]) -> dict[str, Fit]:
    """Fits from FIT_SQL's rows (one per recent job), for formats with enough history."""
    samples: defaultdict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for output_format, work_value, backlog, seconds in rows:
        values = (_number(work_value), _number(backlog), _number(seconds))
        if all(math.isfinite(v) for v in values):
            samples[str(output_format)].append(values)
    return {fmt: fit_format(found) for fmt, found in samples.items() if len(found) >= MIN_JOBS}


def _number(value: object) -> float:
    """A float from a store value (NaN comes back as null or a string through JSON)."""
    try:
        return float(str(value))
    except ValueError:
        return math.nan


class LearningEstimator:
    def __init__(
        self, connect: Callable[[], AnalyticsClient], *, refresh_seconds: float, timeout: float
    ) -> None:
        self._connect = connect
        self.refresh_seconds = refresh_seconds
        self.timeout = timeout
        self.fits: dict[str, Fit] = {}
        self._fitted_at: float | None = None
        self._refreshing: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LearningEstimator:
        return cls(
            lambda: client_from_settings(settings),
            refresh_seconds=settings.estimator_refresh_seconds,
            timeout=settings.analytics_timeout_seconds,
        )

    async def estimate(self, spec: VideoSpec, backlog: int = 0) -> float:
        """Seconds the job should take behind `backlog` unfinished jobs: from history when its
        format has some, else the baseline."""
        if self._stale() and self._refreshing is None:
            self._refreshing = asyncio.create_task(self.refresh())
        fit = self.fits.get(spec.output_format)
        return fit.seconds(work(spec), backlog) if fit else estimate_seconds(spec)

    def _stale(self) -> bool:
        return self._fitted_at is None or time.monotonic() - self._fitted_at >= self.refresh_seconds

    async def refresh(self) -> None:
        """Refit from the store; on failure keep the previous fit and try again after the interval."""
        try:
            rows = await call_async(self._query, timeout=self.timeout)
            self.fits = parse_fits(rows)
            log.info("estimator refitted", extra={"fits": {k: vars(v) for k, v in self.fits.items()}})
        except Exception as exc:
            log.warning("estimator refit failed, keeping the previous fit: %s", exc)
        finally:
            self._fitted_at = time.monotonic()
            self._refreshing = None

    def _query(self) -> list[list[object]]:
        client = self._connect()
        try:
            return client.query(FIT_SQL).rows
        finally:
            client.close()

    async def close(self) -> None:
        """Wait for a refit in flight (bounded by the store timeout), so none outlives the app."""
        if self._refreshing is not None:
            await self._refreshing
