"""OpenTelemetry traces of a job across processes: the API's request, each Kafka hop, each stage and
each FFmpeg run, one trace tied together by W3C trace context in the records' headers.

Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: no provider is installed, so the API's tracer hands
out non-recording spans and `inject` writes no header. On, spans go to the endpoint over OTLP/HTTP
in batches (OTEL_BSP_* tune the batching, as in every OpenTelemetry SDK). A record that arrives with
a `traceparent` of its own (an upstream producer's request) continues that producer's trace.

Every span started while a job is being handled carries its `job_id` and `tenant`: they are read
from the same context variables that tag the JSON logs, so spans deep in library code (an FFmpeg
run) need not be told.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter, Setter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind

from schemas.settings import Settings
from streams import topics
from streams.jsonlog import job_id_var

# Kafka record headers as aiokafka and Faust take them; Faust hands consumed ones over as a dict.
Headers = list[tuple[str, bytes]]
ReadHeaders = Mapping[str, bytes] | Sequence[tuple[str, bytes]]

tenant_var: ContextVar[str | None] = ContextVar("tenant", default=None)
_tracer = trace.get_tracer("videogen")

# Progress and state events go out every half second of a render: they carry the job's trace
# context (a consumer may follow it) but get no span of their own, which would bury the stages.
UNSPANNED_TOPICS = frozenset({topics.EVENTS})


def service_name(process: str, settings: Settings) -> str:
    """`videogen-api`, or `videogen-worker-<WORKER_WEB_PORT>`: workers of one host stay apart."""
    return f"videogen-worker-{settings.worker_web_port}" if process == "worker" else f"videogen-{process}"


class JobAttributes(SpanProcessor):
    """Stamps `job_id` and `tenant` from the job being handled on every span that starts."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        job_id = job_id_var.get()
        if job_id is not None:
            span.set_attribute("job_id", job_id)
            span.set_attribute("tenant", tenant_var.get() or "")


def configure_tracing(
    settings: Settings, process: str, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Install the process's tracer provider, or nothing when OTEL_EXPORTER_OTLP_ENDPOINT is unset
    and no `exporter` is given (tests pass one). The provider flushes its spans when the process
    exits."""
    if exporter is None:
        if not settings.otel_exporter_otlp_endpoint:
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=f"{settings.otel_exporter_otlp_endpoint.rstrip('/')}/v1/traces")
    provider = TracerProvider(resource=Resource.create({"service.name": service_name(process, settings)}))
    provider.add_span_processor(JobAttributes())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def tracing_on() -> bool:
    """Whether this process has a provider (`configure_tracing`) that records spans."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


class _HeaderGetter(Getter[ReadHeaders]):
    def get(self, carrier: ReadHeaders, key: str) -> list[str] | None:
        pairs = carrier.items() if isinstance(carrier, Mapping) else carrier
        found = [value.decode("latin-1") for name, value in pairs if name.lower() == key and value]
        return found or None

    def keys(self, carrier: ReadHeaders) -> list[str]:
        return list(carrier.keys()) if isinstance(carrier, Mapping) else [name for name, _ in carrier]


class _HeaderSetter(Setter[Headers]):
    def set(self, carrier: Headers, key: str, value: str) -> None:
        carrier.append((key, value.encode("latin-1")))


_getter, _setter = _HeaderGetter(), _HeaderSetter()


def current_headers() -> Headers:
    """The current trace context as record headers (none when no span is recording)."""
    headers: Headers = []
    propagate.inject(headers, setter=_setter)
    return headers


def context_from(headers: ReadHeaders | None) -> otel_context.Context:
    """The trace context a record carries (an empty one when it has none)."""
    return propagate.extract(headers or [], getter=_getter, context=otel_context.Context())


@contextlib.contextmanager
def publishing(topic: str) -> Iterator[Headers]:
    """The headers to send a record to `topic` with, from inside a producer span for that hop."""
    if topic in UNSPANNED_TOPICS:
        yield current_headers()
        return
    with _tracer.start_as_current_span(
        f"publish {topic}",
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic},
    ):
        yield current_headers()


@contextlib.contextmanager
def job_span_context(job_id: str, tenant: str | None) -> Iterator[None]:
    """Spans started inside carry this job's `tenant` (its `job_id` comes from the log context);
    the span already current (the API's request) is tagged with both."""
    token = tenant_var.set(tenant)
    current = trace.get_current_span()
    current.set_attribute("job_id", job_id)
    current.set_attribute("tenant", tenant or "")
    try:
        yield
    finally:
        tenant_var.reset(token)


@contextlib.contextmanager
def stage_span(
    stage: str, job_id: str, tenant: str | None, worker: str, headers: ReadHeaders | None
) -> Iterator[trace.Span]:
    """A stage's handling of one record, child of the span that published it (or of an upstream
    producer's context), with the job's attributes; spans started inside are its children."""
    token = tenant_var.set(tenant)
    try:
        with _tracer.start_as_current_span(
            f"stage {stage}",
            context=context_from(headers),
            kind=SpanKind.CONSUMER,
            attributes={"job_id": job_id, "tenant": tenant or "", "stage": stage, "worker": worker},
        ) as span:
            yield span
    finally:
        tenant_var.reset(token)


@contextlib.contextmanager
def ffmpeg_span(argv: Sequence[str], duration: float) -> Iterator[trace.Span]:
    """One FFmpeg run; the caller records its exit code on the span."""
    with _tracer.start_as_current_span(
        "ffmpeg", attributes={"ffmpeg.argv_length": len(argv), "ffmpeg.output_seconds": duration}
    ) as span:
        yield span
