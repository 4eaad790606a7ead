"""The estimate that learns: processing seconds as a line in output pixel-seconds, per output format.

For each format, recent completed jobs are fitted `seconds = intercept + slope · work`, with work the
output's duration * pixels in 720p-equivalent seconds (what the baseline formula scales with, and known
both before a job, from the spec, and after it, from the result). A format with too little history
(or a fit that makes no sense) keeps the baseline formula of media/estimate.py.

`estimate` never waits for the store: it answers from the last fit and, when that is stale, starts a
refit in the background.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
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
SELECT output_format, count() AS jobs,
       tupleElement(simpleLinearRegression(work, processing_seconds) AS fit, 1) AS slope,
       tupleElement(fit, 2) AS intercept,
       quantile(0.5)(processing_seconds) AS median_seconds
FROM (
    SELECT output_format, processing_seconds,
           width * height * output_duration_seconds / {REFERENCE_PIXELS} AS work
    FROM finished_jobs
    WHERE status = 'completed' AND processing_seconds > 0 AND output_format IS NOT NULL
      AND width IS NOT NULL AND height IS NOT NULL AND output_duration_seconds IS NOT NULL
    ORDER BY finished_at DESC
    LIMIT {RECENT_JOBS} BY output_format
)
GROUP BY output_format
"""


@dataclass(frozen=True)
class Fit:
    intercept: float
    slope: float
    jobs: int

    def seconds(self, work: float) -> float:
        return round(self.intercept + self.slope * work, 2)


def work(spec: VideoSpec) -> float:
    """Output duration * pixels, in seconds of 720p."""
    return planned_duration(spec) * spec.out_width * spec.out_height / REFERENCE_PIXELS


def parse_fits(rows: list[list[object]]) -> dict[str, Fit]:
    """Fits from FIT_SQL's rows; a flat or falling line becomes the median (work does not explain it)."""
    fits = {}
    for output_format, jobs, slope_value, intercept_value, median_seconds in rows:
        if int(str(jobs)) < MIN_JOBS:
            continue
        slope, intercept = _number(slope_value), _number(intercept_value)
        if not (math.isfinite(slope) and math.isfinite(intercept)) or slope <= 0:
            slope, intercept = 0.0, float(str(median_seconds))
        fits[str(output_format)] = Fit(max(0.0, intercept), slope, int(str(jobs)))
    return fits


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

    async def estimate(self, spec: VideoSpec) -> float:
        """Seconds the job should take: from history when its format has some, else the baseline."""
        if self._stale() and self._refreshing is None:
            self._refreshing = asyncio.create_task(self.refresh())
        fit = self.fits.get(spec.output_format)
        return fit.seconds(work(spec)) if fit else estimate_seconds(spec)

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
