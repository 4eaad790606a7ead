"""The one path from any HTTP surface to Kafka: admit a job, publish it, follow it, cancel it.

Controllers stay thin and share this service, so every surface gets the same backpressure,
limits, tenant cap and rollback, and a job is a job whichever route created it. The service
owns the API's long-lived parts (job store, template store, publisher, estimator, rate limiter),
typed; templates are saved through it too (`templates`), as records on Kafka like jobs.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from analytics.estimator import LearningEstimator
from analytics.metrics import observe_answer
from analytics.rows import count_elements
from api.auth import visible
from api.bounds import check_record_size
from api.errors import ApiError
from api.idempotency import ClaimStore, Idempotency
from api.jobstore import JobStore
from api.publisher import JobPublisher
from api.ratelimit import RateLimiter
from api.templates import Templates
from api.templatestore import TemplateStore
from media.limits import check_limits
from media.workload import workload
from schemas.batches import BatchItemEnded
from schemas.errors import ErrorCode, JobError
from schemas.events import BatchRef, ErrorInfo, JobAccepted, JobOrigin, JobRequested, JobState, JobStatus
from schemas.settings import Settings
from schemas.spec import VideoSpec
from storage.s3 import result_url
from streams.codec import encode, key_bytes
from streams.jsonlog import job_context, request_id_var
from streams.tracing import job_span_context

log = logging.getLogger(__name__)

QUEUE_FULL_RETRY_AFTER_SECONDS = 30
CANCEL_ACK_SECONDS = 5.0


JOB_PREFIX = "vg_"
BATCH_PREFIX = "pb_"


def new_job_id(prefix: str = JOB_PREFIX) -> str:
    return prefix + secrets.token_hex(6)


def status_endpoint(job_id: str) -> str:
    return f"/api/v1/videoresult/{job_id}"


def job_request(
    job_id: str,
    spec: VideoSpec,
    tenant: str | None,
    callback_url: str | None,
    batch: BatchRef | None,
    estimate: float,
    submitted_ms: int,
) -> JobRequested:
    """The message that asks the workers to render a job."""
    return JobRequested(
        job_id=job_id,
        tenant=tenant,
        request_id=request_id_var.get(),
        submitted_at_ms=submitted_ms,
        estimated_seconds=estimate,
        callback_url=callback_url,
        batch=batch,
        spec=spec,
    )


@dataclass(frozen=True)
class BatchSubmitted:
    """A batch's id and, per item in order, its job or why it was not queued (`replayed`: an
    earlier request with the same Idempotency-Key made it)."""

    batch_id: str
    outcomes: list[Submitted | JobError]
    replayed: bool = False

    def record(self) -> dict[str, Any]:
        """What the batch's Idempotency-Key record keeps to answer a replay."""
        return {
            "batch_id": self.batch_id,
            "items": [
                {"error": {"code": o.code, "message": o.message}}
                if isinstance(o, JobError)
                else {"job_id": o.job_id}
                for o in self.outcomes
            ],
        }

    @classmethod
    def replay(cls, record: dict[str, Any]) -> BatchSubmitted:
        outcomes: list[Submitted | JobError] = [
            JobError(ErrorCode(item["error"]["code"]), item["error"]["message"])
            if "error" in item
            else Submitted(item["job_id"], 0.0, waited=False, final=None, submitted_at_ms=0, replayed=True)
            for item in record["items"]
        ]
        return cls(record["batch_id"], outcomes, replayed=True)


@dataclass(frozen=True)
class Submitted:
    """A published job: its estimate, and its final state when it ended within the quick window
    (`waited` says whether the estimate allowed waiting at all). `replayed`: an earlier request
    with the same Idempotency-Key made it, and this is its current state (`final` if it ended)."""

    job_id: str
    estimate: float
    waited: bool
    final: JobState | None
    submitted_at_ms: int
    replayed: bool = False


class JobService:
    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        publisher: JobPublisher,
        estimator: LearningEstimator,
        limiter: RateLimiter,
        templates: TemplateStore,
        claims: ClaimStore | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.publisher = publisher
        self.estimator = estimator
        self.limiter = limiter
        self.templates = Templates(templates, publisher, settings.kafka_max_message_bytes)
        self.claims = claims or ClaimStore(settings)

    @classmethod
    def from_settings(cls, settings: Settings) -> JobService:
        return cls(
            settings,
            JobStore(settings),
            JobPublisher(settings),
            LearningEstimator.from_settings(settings),
            RateLimiter(settings.rate_limit_per_minute),
            TemplateStore(settings),
        )

    async def start(self) -> None:
        await self.publisher.start()
        await self.jobs.start()
        await self.templates.store.start()
        await self.estimator.refresh()

    async def stop(self) -> None:
        await self.estimator.close()
        await self.templates.store.stop()
        await self.jobs.stop()
        await self.publisher.stop()

    async def submit(
        self,
        spec: VideoSpec,
        tenant: str | None,
        callback_url: str | None,
        *,
        prefix: str = JOB_PREFIX,
        quick: bool = True,
        batch: BatchRef | None = None,
        origin: JobOrigin | None = None,
        idempotency: Idempotency | None = None,
        job_id: str | None = None,
    ) -> Submitted:
        """Admit, estimate and publish a job, then (`quick`) wait for it when it is quick enough.
        `prefix` starts the job id (unless `job_id` is given): each surface's ids say which surface
        made them. A job of a `batch` reports its end to the batch, whose one callback replaces the
        job's own. `origin` (a template, a prompt) is kept with the job's state for the surface to
        show back. With `idempotency`, the key is claimed before anything is published: a key an
        earlier request holds answers with that request's job, as it is now, and publishes nothing;
        a job that is not published after all releases its claim (a cancelled request keeps it: its
        job may be out)."""
        job_id = job_id or new_job_id(prefix)
        if idempotency is not None:
            earlier = await self.claims.claim(idempotency, tenant, {"job_id": job_id})
            if earlier is not None:
                return await self._replayed(str(earlier["job_id"]), tenant, earlier)
        try:
            estimate, submitted_ms = await self._publish(job_id, spec, tenant, callback_url, batch, origin)
        except Exception:
            if idempotency is not None:
                await self.claims.release(idempotency, tenant)
            raise
        threshold = self.settings.quick_response_threshold_seconds
        if not quick or estimate > threshold:
            observe_answer("async")
            return Submitted(job_id, estimate, waited=False, final=None, submitted_at_ms=submitted_ms)
        final = await self.jobs.wait_until_terminal(job_id, threshold)
        observe_answer("async" if final is None else "quick")
        return Submitted(job_id, estimate, waited=True, final=final, submitted_at_ms=submitted_ms)

    async def replay(self, idempotency: Idempotency | None, tenant: str | None) -> Submitted | None:
        """The job an earlier request with the same key made, if any; read only (`submit` claims the
        key), for a surface whose spec is costly to make (a prompt's generator may call a model)."""
        earlier = None if idempotency is None else await self.claims.find(idempotency, tenant)
        return None if earlier is None else await self._replayed(str(earlier["job_id"]), tenant, earlier)

    async def _replayed(self, job_id: str, tenant: str | None, record: dict[str, Any]) -> Submitted:
        """The job an earlier request with the same key made, as it is now; one not folded yet (its
        claim is older than its `queued` event, or its publication is under way elsewhere) is queued."""
        state = await self.find(job_id, tenant)
        if state is None:
            submitted_ms = int(float(record.get("created_at", time.time())) * 1000)
            return Submitted(
                job_id, 0.0, waited=False, final=None, submitted_at_ms=submitted_ms, replayed=True
            )
        return Submitted(
            job_id,
            state.estimated_seconds or 0.0,
            waited=False,
            final=state if state.terminal else None,
            submitted_at_ms=state.submitted_at_ms or int(state.updated_at * 1000),
            replayed=True,
        )

    async def _publish(
        self,
        job_id: str,
        spec: VideoSpec,
        tenant: str | None,
        callback_url: str | None,
        batch: BatchRef | None,
        origin: JobOrigin | None,
    ) -> tuple[float, int]:
        """Admit, estimate and publish the job; its estimate and submission time."""
        self._check_backlog()
        try:
            check_limits(spec, self.settings)
        except JobError as exc:
            raise ApiError.of(exc) from exc
        work, ahead, backlog, workers = (
            workload(spec),
            self.jobs.ahead(),
            self.jobs.backlog,
            self.jobs.workers,
        )
        estimate = round(await self.estimator.estimate(spec, work, ahead, workers), 2)
        submitted_ms = int(time.time() * 1000)
        request_id = request_id_var.get()
        request = job_request(job_id, spec, tenant, callback_url, batch, estimate, submitted_ms)
        self._check_size(request)
        accepted = JobAccepted(
            job_id=job_id,
            tenant=tenant,
            request_id=request_id,
            estimated_seconds=estimate,
            submitted_at_ms=submitted_ms,
            output_format=spec.output_format,
            element_counts=count_elements(spec),
            backlog=backlog,
            workers=workers,
            workload=work,
            ahead=ahead,
            batch=batch,
            origin=origin,
        )
        self._check_in_flight(tenant)  # no await between the check and the record
        self.jobs.record(accepted)
        with job_context(job_id, request_id, "accepted"), job_span_context(job_id, tenant):
            try:
                await self.publisher.submit(request, accepted)
            except BaseException:
                self.jobs.forget(job_id)
                raise
        return estimate, submitted_ms

    async def submit_batch(
        self,
        items: list[tuple[VideoSpec, str]],
        tenant: str | None,
        *,
        processing_id: str,
        callback_url: str,
        prefix: str,
        idempotency: Idempotency | None = None,
    ) -> BatchSubmitted:
        """Jobs answered together by one callback once all have ended: each (spec, what the caller
        sent for it) becomes a job carrying its `BatchRef`. Admission and every item's message
        size are checked for the whole batch first, so a full queue or one oversized item refuses
        all of it. An item that still cannot be queued once others were (another API instance
        filled the queue meanwhile, the broker failed) is reported to the batch as failed, with
        the items after it, so the batch still ends and its callback is sent; when the first item
        cannot be queued, nothing was and the error is the answer. One `idempotency` key covers
        the whole batch, as `submit`'s covers a job: a replay answers with the same batch."""
        batch_id, job_ids = new_job_id(BATCH_PREFIX), [new_job_id(prefix) for _ in items]
        if idempotency is not None:
            planned = {"batch_id": batch_id, "items": [{"job_id": job_id} for job_id in job_ids]}
            earlier = await self.claims.claim(idempotency, tenant, planned)
            if earlier is not None:
                return BatchSubmitted.replay(earlier)
        try:
            batch = await self._submit_batch(
                items, tenant, batch_id, job_ids, processing_id, callback_url, prefix
            )
        except Exception:
            if idempotency is not None:
                await self.claims.release(idempotency, tenant)
            raise
        if idempotency is not None and any(isinstance(o, JobError) for o in batch.outcomes):
            await self.claims.update(idempotency, tenant, batch.record())
        return batch

    async def _submit_batch(
        self,
        items: list[tuple[VideoSpec, str]],
        tenant: str | None,
        batch_id: str,
        job_ids: list[str],
        processing_id: str,
        callback_url: str,
        prefix: str,
    ) -> BatchSubmitted:
        """`submit_batch` under the ids it chose (and claimed)."""
        self._check_backlog(len(items))
        self._check_in_flight(tenant, len(items))
        refs = [
            BatchRef(
                id=batch_id, processing_id=processing_id, size=len(items), index=index, item=item,
                callback_url=callback_url,
            )
            for index, (_, item) in enumerate(items)
        ]  # fmt: skip
        for (spec, _), ref in zip(items, refs, strict=True):
            self._check_size(self._draft(spec, tenant, prefix, ref))
        outcomes: list[Submitted | JobError] = []
        for (spec, _), ref, job_id in zip(items, refs, job_ids, strict=True):
            refused = next((o for o in outcomes if isinstance(o, JobError)), None)
            if refused is None:
                try:
                    outcomes.append(
                        await self.submit(spec, tenant, None, quick=False, batch=ref, job_id=job_id)
                    )
                    continue
                except ApiError as exc:
                    if not outcomes:
                        raise
                    refused = JobError(exc.code, f"not queued: {exc.message}")
                except Exception as exc:
                    if not outcomes:
                        raise
                    log.exception("batch %s: item %d could not be queued", batch_id, ref.index)
                    refused = JobError(ErrorCode.INTERNAL_ERROR, f"not queued: {type(exc).__name__}")
            error = ErrorInfo(code=refused.code, message=refused.message)
            await self.publisher.batch_item(
                BatchItemEnded(batch=ref, job_id=None, tenant=tenant, status="failed", error=error)
            )
            outcomes.append(refused)
        return BatchSubmitted(batch_id, outcomes)

    def _check_size(self, request: JobRequested) -> None:
        """413 before anything is published when the job's request is too big for the broker: once
        its `queued` event is out, a refused request would leave a job that never runs."""
        limit = self.settings.kafka_max_message_bytes
        check_record_size("the job", key_bytes(request.job_id or ""), encode(request), limit)

    def _draft(self, spec: VideoSpec, tenant: str | None, prefix: str, batch: BatchRef) -> JobRequested:
        """A batch item's request as `submit` will make it, but for its estimate (a few bytes): its
        size, checked for every item before the first is published."""
        return job_request(new_job_id(prefix), spec, tenant, None, batch, 0.0, int(time.time() * 1000))

    def _check_backlog(self, adding: int = 1) -> None:
        backlog, limit = self.jobs.backlog, self.settings.max_queued_jobs
        if backlog + adding > limit:
            raise ApiError(
                ErrorCode.QUEUE_FULL,
                f"{backlog} jobs are waiting; retry after {QUEUE_FULL_RETRY_AFTER_SECONDS} seconds",
                {"backlog": backlog, "limit": limit},
                headers={"Retry-After": str(QUEUE_FULL_RETRY_AFTER_SECONDS)},
            )

    def _check_in_flight(self, tenant: str | None, adding: int = 1) -> None:
        cap = self.settings.max_jobs_in_flight_per_tenant
        if tenant is None or cap <= 0:
            return
        running = self.jobs.in_flight(tenant)
        if running + adding > cap:
            raise ApiError(
                ErrorCode.RATE_LIMITED,
                f"{running} of your jobs are unfinished (limit {cap}); wait for one to end or cancel one",
                {"in_flight": running, "limit": cap},
                headers={"Retry-After": str(QUEUE_FULL_RETRY_AFTER_SECONDS)},
            )

    async def find(self, job_id: str, tenant: str | None) -> JobState | None:
        """The caller's job, or None: another tenant's job is indistinguishable from a missing one."""
        return visible(await self.jobs.get(job_id), tenant)

    async def history(
        self, tenant: str | None, status: JobStatus | None, limit: int, offset: int
    ) -> tuple[list[JobState], bool]:
        """A page of the caller's jobs, newest first, and whether more follow (another tenant's
        jobs are never listed)."""
        return await self.jobs.page(tenant, status, limit, offset)

    async def own(self, job_id: str, tenant: str | None) -> JobState:
        """The caller's job, or a 404."""
        job = await self.find(job_id, tenant)
        if job is None:
            raise ApiError(ErrorCode.NOT_FOUND, f"no job {job_id!r}; check the id returned by videocreate")
        return job

    async def download_url(self, job_id: str, tenant: str | None) -> str:
        """Where the finished video is (a fresh presigned URL when S3_SIGNED_URLS is on), or a 409."""
        return self.stored_url(await self.own(job_id, tenant), status_endpoint(job_id))

    def stored_url(self, job: JobState, follow: str) -> str:
        """The finished job's video URL, or a 409 saying where to `follow` the job."""
        video, _ = self.result_urls(job)
        if job.status != "completed" or video is None:
            raise ApiError(
                ErrorCode.CONFLICT,
                f"job {job.job_id} is {job.status}, not completed; follow {follow}",
                {"status": job.status},
            )
        return video

    def result_urls(self, job: JobState) -> tuple[str | None, str | None]:
        """The video's and thumbnail's URLs, presigned afresh when S3_SIGNED_URLS is on (the ones
        stored with the result may have expired)."""
        result = job.result
        if result is None:
            return None, None
        if not self.settings.s3_signed_urls:
            return result.result_url, result.thumbnail_url
        thumbnail = result.thumbnail_s3_key
        return (
            result_url(self.settings, result.s3_key),
            result_url(self.settings, thumbnail) if thumbnail else None,
        )

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
        with job_context(job_id, request_id, "cancel"), job_span_context(job_id, job.tenant):
            await self.publisher.cancel(job, request_id)
        final = await self.jobs.wait_until_terminal(job_id, CANCEL_ACK_SECONDS)
        return final or job

    def follow(self, job_id: str) -> AsyncGenerator[JobState, None]:
        """Every state of the job from now on, current first, until it ends (SSE and WebSocket)."""
        return self.jobs.watch(job_id)

    async def ping(self) -> None:
        await self.publisher.ping()
