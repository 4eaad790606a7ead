"""The estimate that learns: processing seconds as a job's own work plus its wait, fitted per
output format on recent finished jobs.

A job's own work is what its spec asks (media/workload.py): pixels encoded, layers composed,
effects, and whether the render is a stream copy, each at a cost c >= 0. Its wait is the work
unfinished ahead of it when it was accepted, at the same costs, shared by the live workers:

    own(x)  = c0 + c1 pixel_seconds + c2 layer_seconds + c3 effects + c4 stream_copy
    seconds = own(this job) + k * own(the jobs ahead, each by the share still to do) / workers

In a burst most of a job's time is that wait. k, the seconds of wait per second of work ahead, is
learned once the history holds jobs that queued; before, it is 1 (what the work ahead would take
alone), which errs long. The fit minimises the squared |actual/estimated - 1|, the error
estimate_accuracy reports: a 1 s job missed by 1 s counts as much as a 60 s one missed by 60 s.
Every feature is recorded on the job's accepted event, so the fit learns from what was known when
the job was estimated. A format with too little history keeps the baseline formula of
media/estimate.py.

`estimate` never waits for the store: it answers from the last fit and, when that is stale, starts a
refit in the background.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analytics.client import AnalyticsClient, call_async, client_from_settings
from media.estimate import estimate_seconds
from schemas.events import Ahead, Workload
from schemas.settings import Settings
from schemas.spec import VideoSpec

log = logging.getLogger(__name__)

MIN_JOBS = 5
RECENT_JOBS = 500
DAMPING = 1e-3  # ridge on the unit-scaled coefficients: collinear features share instead of diverging
MIN_SECONDS = 0.1  # below it a relative error is noise (and no job takes less)
REWEIGHTING_ROUNDS = 8
QUEUE_FACTOR_PRIOR = 1.0

OWN = ("pixel_seconds", "layer_seconds", "effects", "stream_copy")
AHEAD = ("jobs_ahead", "pixel_seconds_ahead", "layer_seconds_ahead", "effects_ahead", "stream_copies_ahead")
FIT_SQL = f"""
SELECT output_format, {", ".join(OWN + AHEAD)}, workers, processing_seconds
FROM finished_jobs
WHERE status = 'completed' AND processing_seconds > 0 AND output_format IS NOT NULL
  AND pixel_seconds IS NOT NULL AND jobs_ahead IS NOT NULL AND workers IS NOT NULL
ORDER BY finished_at DESC
LIMIT {RECENT_JOBS} BY output_format
"""


def own(workload: Workload) -> list[float]:
    """The job's own features, the constant first."""
    return [
        1.0,
        workload.pixel_seconds,
        workload.layer_seconds,
        float(workload.effects),
        float(workload.stream_copy),
    ]


def queued(ahead: Ahead, workers: int) -> list[float]:
    """The same features of the work ahead, summed, each worker's share."""
    share = 1 / max(1, workers)
    totals = (ahead.jobs, ahead.pixel_seconds, ahead.layer_seconds, ahead.effects, ahead.stream_copies)
    return [value * share for value in totals]


Sample = tuple[Sequence[float], Sequence[float], float]  # own, queued, seconds


@dataclass(frozen=True)
class Fit:
    coefficients: tuple[float, ...]  # the constant, then the cost of each OWN feature
    queue_factor: float  # seconds of wait per second of work ahead per worker
    jobs: int

    def seconds(self, own: Sequence[float], queued: Sequence[float]) -> float:
        combined = [o + self.queue_factor * q for o, q in zip(own, queued, strict=True)]
        return round(max(MIN_SECONDS, _dot(self.coefficients, combined)), 2)


def fit_format(samples: Sequence[Sample]) -> Fit:
    """Costs >= 0 and the queue factor minimising the squared error relative to the estimate, the
    error estimate_accuracy reports: least squares reweighted by 1/estimate² of the round before
    (the first round by 1/actual²), alternating the costs (for the factor) and the factor (for the
    costs). The factor keeps its prior while no job in the history queued."""
    seconds = [s for _, _, s in samples]
    factor, scale = QUEUE_FACTOR_PRIOR, seconds
    for _ in range(REWEIGHTING_ROUNDS):
        weights = [1 / max(MIN_SECONDS, s) ** 2 for s in scale]
        combined = [[o + factor * q for o, q in zip(x, ahead, strict=True)] for x, ahead, _ in samples]
        costs = nonnegative_least_squares(combined, seconds, weights)
        waits = [_dot(costs, ahead) for _, ahead, _ in samples]
        rest = [s - _dot(costs, x) for x, _, s in samples]
        spread = sum(w * a * a for w, a in zip(weights, waits, strict=True))
        if spread > 0:
            factor = max(0.0, sum(w * a * r for w, a, r in zip(weights, waits, rest, strict=True)) / spread)
        scale = [s - r + factor * a for s, r, a in zip(seconds, rest, waits, strict=True)]
    return Fit(tuple(costs), factor, len(samples))


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def nonnegative_least_squares(
    xs: Sequence[Sequence[float]], targets: Sequence[float], weights: Sequence[float]
) -> list[float]:
    """Weighted least squares on unit-scaled features with a light ridge (a feature always 0 gets 0,
    collinear ones share), dropping the most negative coefficient until none is."""
    n = len(xs[0])
    rows = list(zip(xs, targets, weights, strict=True))
    gram = [[sum(w * x[i] * x[j] for x, _, w in rows) for j in range(n)] for i in range(n)]
    moment = [sum(w * x[i] * t for x, t, w in rows) for i in range(n)]
    norm = [math.sqrt(gram[i][i]) for i in range(n)]
    free = [i for i in range(n) if norm[i] > 0]
    while True:
        scaled = [
            [gram[i][j] / (norm[i] * norm[j]) + (DAMPING if i == j > 0 else 0.0) for j in free] for i in free
        ]
        found = [
            c / norm[i] for c, i in zip(solve(scaled, [moment[i] / norm[i] for i in free]), free, strict=True)
        ]
        if all(c >= 0 for c in found):
            break
        del free[found.index(min(found))]
    coefficients = [0.0] * n
    for i, c in zip(free, found, strict=True):
        coefficients[i] = c
    return coefficients


def solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """x with matrix x = vector, for a symmetric positive definite matrix (Gaussian elimination)."""
    n = len(vector)
    matrix, vector = [row[:] for row in matrix], vector[:]
    for col in range(n):
        for row in range(col + 1, n):
            factor = matrix[row][col] / matrix[col][col]
            matrix[row] = [a - factor * b for a, b in zip(matrix[row], matrix[col], strict=True)]
            vector[row] -= factor * vector[col]
    solution = [0.0] * n
    for row in reversed(range(n)):
        rest = sum(matrix[row][k] * solution[k] for k in range(row + 1, n))
        solution[row] = (vector[row] - rest) / matrix[row][row]
    return solution


def parse_fits(rows: list[list[object]]) -> dict[str, Fit]:
    """Fits from FIT_SQL's rows (one per recent job), for formats with enough history."""
    samples: defaultdict[str, list[Sample]] = defaultdict(list)
    for output_format, *values in rows:
        numbers = [_number(v) for v in values]
        if not all(math.isfinite(v) for v in numbers):
            continue
        pixel, layer, effects, copy, *totals, workers, seconds = numbers
        workload = Workload(
            pixel_seconds=pixel, layer_seconds=layer, effects=int(effects), stream_copy=bool(copy)
        )
        ahead = Ahead(**dict(zip(Ahead.model_fields, totals, strict=True)))
        samples[str(output_format)].append((own(workload), queued(ahead, int(workers)), seconds))
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

    async def estimate(self, spec: VideoSpec, workload: Workload, ahead: Ahead, workers: int) -> float:
        """Seconds the job should take behind the work `ahead` of it: from history when its format
        has some, else the baseline."""
        if self._stale() and self._refreshing is None:
            self._refreshing = asyncio.create_task(self.refresh())
        fit = self.fits.get(spec.output_format)
        return fit.seconds(own(workload), queued(ahead, workers)) if fit else estimate_seconds(spec)

    def _stale(self) -> bool:
        return self._fitted_at is None or time.monotonic() - self._fitted_at >= self.refresh_seconds

    async def refresh(self) -> None:
        """Refit from the store; on failure keep the previous fit and try again after the interval."""
        try:
            self.fits = await call_async(self._fit, timeout=self.timeout)
            log.info("estimator refitted", extra={"fits": {k: vars(v) for k, v in self.fits.items()}})
        except Exception as exc:
            log.warning("estimator refit failed, keeping the previous fit: %s", exc)
        finally:
            self._fitted_at = time.monotonic()
            self._refreshing = None

    def _fit(self) -> dict[str, Fit]:
        """Query and fit in the thread: fitting hundreds of jobs takes tenths of a second."""
        client = self._connect()
        try:
            return parse_fits(client.query(FIT_SQL).rows)
        finally:
            client.close()

    async def close(self) -> None:
        """Wait for a refit in flight (bounded by the store timeout), so none outlives the app."""
        if self._refreshing is not None:
            await self._refreshing
