"""The one path from any HTTP surface to Kafka: admit a job, publish it, follow it, cancel it.

Controllers stay thin and share this service, so every surface gets the same backpressure,
limits, tenant cap and rollback, and a job is a job whichever route created it. The service
owns the API's long-lived parts (job store, publisher, estimator, rate limiter), typed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from analytics.estimator import LearningEstimator
from analytics.metrics import observe_answer
from analytics.rows import count_elements
from api.auth import visible
from api.errors import ApiError
from api.jobstore import JobStore
from api.publisher import JobPublisher
from api.ratelimit import RateLimiter
from media.limits import check_limits
from schemas.errors import ErrorCode, JobError
from schemas.events import JobEvent, JobRequested, JobState
from schemas.settings import Settings
from schemas.spec import VideoSpec
from storage.s3 import result_url
from streams.jsonlog import job_context, request_id_var

QUEUE_FULL_RETRY_AFTER_SECONDS = 30
CANCEL_ACK_SECONDS = 5.0


def new_job_id() -> str:
    return "vg_" + secrets.token_hex(6)


def status_endpoint(job_id: str) -> str:
    return f"/api/v1/videoresult/{job_id}"


@dataclass(frozen=True)
class Submitted:
    """A published job: its estimate, and its final state when it ended within the quick window
    (`waited` says whether the estimate allowed waiting at all)."""

    job_id: str
    estimate: float
    waited: bool
    final: JobState | None


class JobService:
    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        publisher: JobPublisher,
        estimator: LearningEstimator,
        limiter: RateLimiter,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.publisher = publisher
        self.estimator = estimator
        self.limiter = limiter

    @classmethod
    def from_settings(cls, settings: Settings) -> JobService:
        return cls(
            settings,
            JobStore(settings),
            JobPublisher(settings),
            LearningEstimator.from_settings(settings),
            RateLimiter(settings.rate_limit_per_minute),
        )

    async def start(self) -> None:
        await self.publisher.start()
        await self.jobs.start()
        await self.estimator.refresh()

    async def stop(self) -> None:
        await self.estimator.close()
        await self.jobs.stop()
        await self.publisher.stop()

    async def submit(self, spec: VideoSpec, tenant: str | None, callback_url: str | None) -> Submitted:
        """Admit, estimate and publish a job, then wait for it when it is quick enough."""
        self._check_backlog()
        try:
            check_limits(spec, self.settings)
        except JobError as exc:
            raise ApiError(exc.code, exc.message, exc.details) from exc
        job_id = new_job_id()
        backlog = self.jobs.backlog
        estimate = round(await self.estimator.estimate(spec, backlog), 2)
        submitted_ms = int(time.time() * 1000)
        request_id = request_id_var.get()
        accepted = JobEvent(
            job_id=job_id,
            tenant=tenant,
            request_id=request_id,
            stage="accepted",
            status="queued",
            current_step="queued",
            estimated_seconds=estimate,
            submitted_at_ms=submitted_ms,
            output_format=spec.output_format,
            element_counts=count_elements(spec),
            backlog=backlog,
        )
        self._check_in_flight(tenant)  # no await between the check and the record
        self.jobs.record(accepted)
        with job_context(job_id, request_id, "accepted"):
            try:
                await self.publisher.submit(
                    JobRequested(
                        job_id=job_id,
                        tenant=tenant,
                        request_id=request_id,
                        submitted_at_ms=submitted_ms,
                        estimated_seconds=estimate,
                        callback_url=callback_url,
                        spec=spec,
                    ),
                    accepted,
                )
            except BaseException:
                self.jobs.forget(job_id)
                raise
        threshold = self.settings.quick_response_threshold_seconds
        if estimate > threshold:
            observe_answer("async")
            return Submitted(job_id, estimate, waited=False, final=None)
        final = await self.jobs.wait_until_terminal(job_id, threshold)
        observe_answer("async" if final is None else "quick")
        return Submitted(job_id, estimate, waited=True, final=final)

    def _check_backlog(self) -> None:
        backlog, limit = self.jobs.backlog, self.settings.max_queued_jobs
        if backlog >= limit:
            raise ApiError(
                ErrorCode.QUEUE_FULL,
                f"{backlog} jobs are waiting; retry after {QUEUE_FULL_RETRY_AFTER_SECONDS} seconds",
                {"backlog": backlog, "limit": limit},
                headers={"Retry-After": str(QUEUE_FULL_RETRY_AFTER_SECONDS)},
            )

    def _check_in_flight(self, tenant: str | None) -> None:
        cap = self.settings.max_jobs_in_flight_per_tenant
        if tenant is None or cap <= 0:
            return
        running = self.jobs.in_flight(tenant)
        if running >= cap:
            raise ApiError(
                ErrorCode.RATE_LIMITED,
                f"{running} of your jobs are unfinished (limit {cap}); wait for one to end or cancel one",
                {"in_flight": running, "limit": cap},
                headers={"Retry-After": str(QUEUE_FULL_RETRY_AFTER_SECONDS)},
            )

    async def find(self, job_id: str, tenant: str | None) -> JobState | None:
        """The caller's job, or None: another tenant's job is indistinguishable from a missing one."""
        return visible(await self.jobs.get(job_id), tenant)

    async def own(self, job_id: str, tenant: str | None) -> JobState:
        """The caller's job, or a 404."""
        job = await self.find(job_id, tenant)
        if job is None:
            raise ApiError(ErrorCode.NOT_FOUND, f"no job {job_id!r}; check the id returned by videocreate")
        return job

    async def download_url(self, job_id: str, tenant: str | None) -> str:
        """Where the finished video is (a fresh presigned URL when S3_SIGNED_URLS is on), or a 409."""
        job = await self.own(job_id, tenant)
        if job.status != "completed" or job.result is None:
            raise ApiError(
                ErrorCode.CONFLICT,
                f"job {job_id} is {job.status}, not completed; follow {status_endpoint(job_id)}",
                {"status": job.status},
            )
        if self.settings.s3_signed_urls:
            return result_url(self.settings, job.result.s3_key)
        return job.result.result_url

    async def cancel(self, job_id: str, tenant: str | None) -> JobState:
        """Publish the cancel and wait briefly for it to fold back: the state the caller sees next."""
        job = await self.own(job_id, tenant)
        if job.terminal:
            raise ApiError(
                ErrorCode.CONFLICT,
                f"job {job_id} already ended ({job.status}); nothing to cancel",
                {"status": job.status},
            )
        request_id = request_id_var.get()
        with job_context(job_id, request_id, "cancel"):
            await self.publisher.cancel(job, request_id)
        final = await self.jobs.wait_until_terminal(job_id, CANCEL_ACK_SECONDS)
        return final or job

    def follow(self, job_id: str) -> AsyncGenerator[JobState, None]:
        """Every state of the job from now on, current first, until it ends (SSE and WebSocket)."""
        return self.jobs.watch(job_id)

    async def ping(self) -> None:
        await self.publisher.ping()
