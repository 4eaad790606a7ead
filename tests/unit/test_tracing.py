"""Traces without a collector: spans go to the SDK's in-memory exporter, through the same stage
handlers, bus and FFmpeg runner the worker uses, with a tracer of the test's own (the process's
global provider is left alone)."""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind

from agents.stages import fetch, render
from agents.stages.loop import Record, run_stage
from agents.stages.validate import handle_request
from media.runner import run_ffmpeg
from schemas.errors import JobError
from schemas.events import JobFetched, JobValidated
from schemas.settings import Settings
from streams import topics, tracing
from streams.jsonlog import JsonFormatter, job_context
from tests.unit.stage_fakes import make_runtime

UPSTREAM_TRACE = "0af7651916cd43dd8448eb211c80319c"
UPSTREAM_SPAN = "b7ad6b7169203331"


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    provider = TracerProvider()
    provider.add_span_processor(tracing.JobAttributes())
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_tracer", provider.get_tracer("test"))
    yield exporter
    provider.shutdown()


def _request(job_id: str = "vg_t1", tenant: str = "acme") -> bytes:
    spec = {"width": 64, "height": 64, "duration": 1, "elements": [{"type": "color", "color": "#ff0000"}]}
    return orjson.dumps({"job_id": job_id, "tenant": tenant, "spec": spec})


def _record(topic: str, value: bytes, headers: Mapping[str, bytes] | Sequence[tuple[str, bytes]]) -> Record:
    return Record(topic, 0, 0, b"vg_t1", value, 1_700_000_000.0, headers)


async def _records(*items: Record) -> AsyncIterator[Record]:
    for item in items:
        yield item


def _parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _context(span: ReadableSpan) -> SpanContext:
    context = span.get_span_context()
    assert context is not None
    return context


def _span_id(span: ReadableSpan) -> int:
    return _context(span).span_id


def _named(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


def test_headers_carry_the_context_out_and_back_in(spans: InMemorySpanExporter) -> None:
    with tracing._tracer.start_as_current_span("outer") as span:
        headers = tracing.current_headers()
    assert [name for name, _ in headers] == ["traceparent"]
    sent = span.get_span_context()
    for carrier in (headers, dict(headers)):  # aiokafka's pairs, Faust's dict
        got = trace.get_current_span(tracing.context_from(carrier)).get_span_context()
        assert (got.trace_id, got.span_id, got.is_remote) == (sent.trace_id, sent.span_id, True)
    assert tracing.current_headers() == []  # no span: no header
    assert not trace.get_current_span(tracing.context_from(None)).get_span_context().is_valid


async def test_a_job_is_one_trace_from_an_upstream_producer_through_stages_and_ffmpeg(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    runtime, kafka = make_runtime(tmp_path)
    upstream = [("traceparent", f"00-{UPSTREAM_TRACE}-{UPSTREAM_SPAN}-01".encode())]
    await handle_request(_record(topics.REQUESTED, _request(), upstream), runtime)
    [validated] = [s for s in kafka.sent if s.topic == topics.VALIDATED]
    await run_stage(
        _records(_record(topics.VALIDATED, orjson.dumps(validated.value), validated.headers)),
        "fetch", JobValidated, fetch.handle, runtime,
    )  # fmt: skip
    [fetched] = [s for s in kafka.sent if s.topic == topics.FETCHED]
    await run_stage(
        _records(_record(topics.FETCHED, orjson.dumps(fetched.value), dict(fetched.headers))),
        "render", JobFetched, render.handle, runtime,
    )  # fmt: skip

    named = _named(spans)
    chain = [
        "stage validate", "publish videogen.jobs.validated", "stage fetch",
        "publish videogen.jobs.fetched", "stage render",
    ]  # fmt: skip
    assert {_context(span).trace_id for span in named.values()} == {int(UPSTREAM_TRACE, 16)}
    assert _parent_id(named["stage validate"]) == int(UPSTREAM_SPAN, 16)
    for parent, child in itertools.pairwise(chain):
        assert _parent_id(named[child]) == _span_id(named[parent]), child
    ffmpeg_runs = [span for span in spans.get_finished_spans() if span.name == "ffmpeg"]
    assert ffmpeg_runs and all(_parent_id(run) == _span_id(named["stage render"]) for run in ffmpeg_runs)
    assert all(run.attributes and run.attributes["ffmpeg.exit_code"] == 0 for run in ffmpeg_runs)
    assert named["stage fetch"].kind == SpanKind.CONSUMER
    assert named["publish videogen.jobs.fetched"].kind == SpanKind.PRODUCER
    assert named["stage render"].attributes is not None
    assert named["stage render"].attributes["worker"] == "w1"
    for span in spans.get_finished_spans():
        assert span.attributes is not None
        assert (span.attributes["job_id"], span.attributes["tenant"]) == ("vg_t1", "acme"), span.name
    # Events carry the context too, without a span per progress event.
    assert all(s.headers for s in kafka.sent if s.topic == topics.EVENTS)
    assert not [span for span in spans.get_finished_spans() if topics.EVENTS in span.name]


async def test_a_failed_ffmpeg_run_records_its_exit_code(spans: InMemorySpanExporter) -> None:
    with (
        job_context("vg_t2"),
        tracing.stage_span("render", "vg_t2", None, "w1", None),
        pytest.raises(JobError),
    ):
        await run_ffmpeg("/bin/sh", ["-c", "exit 3"], duration=1.0, timeout_seconds=10)
    run = _named(spans)["ffmpeg"]
    assert run.attributes is not None
    assert run.attributes["ffmpeg.exit_code"] == 3 and run.attributes["ffmpeg.argv_length"] == 2
    assert (run.attributes["job_id"], run.attributes["tenant"]) == ("vg_t2", "")
    assert not run.status.is_ok


def test_log_lines_carry_the_trace_id_inside_a_span(spans: InMemorySpanExporter) -> None:
    formatter = JsonFormatter("worker")

    def line() -> dict[str, object]:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
        return dict(orjson.loads(formatter.format(record)))

    assert "trace_id" not in line()
    with tracing._tracer.start_as_current_span("work") as span:
        entry = line()
    assert entry["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert entry["span_id"] == f"{span.get_span_context().span_id:016x}"


def test_configured_with_an_endpoint_a_worker_is_named_by_its_port(monkeypatch: pytest.MonkeyPatch) -> None:
    installed: list[TracerProvider] = []
    monkeypatch.setattr(trace, "set_tracer_provider", installed.append)
    settings = Settings(otel_exporter_otlp_endpoint="http://127.0.0.1:4318/", worker_web_port=6077)
    provider = tracing.configure_tracing(settings, "worker")
    assert provider is not None and installed == [provider]
    assert provider.resource.attributes["service.name"] == "videogen-worker-6077"
    assert tracing.service_name("api", settings) == "videogen-api"
    provider.shutdown()


def test_without_an_endpoint_tracing_is_off() -> None:
    """In a fresh process, as `videogen worker` starts: no provider, no spans, no headers, no plugin."""
    code = """
from schemas.settings import Settings
from streams import tracing
from api.tracing import tracing_plugins
assert tracing.configure_tracing(Settings(otel_exporter_otlp_endpoint=None), "worker") is None
with tracing.stage_span("validate", "vg_1", "t", "w1", None) as span:
    assert not span.is_recording()
    assert tracing.current_headers() == []
assert not tracing.tracing_on() and tracing_plugins() == []
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2], timeout=60)


API_TRACE = """
from typing import Any

from litestar.testing import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.app import create_app
from api.jobservice import JobService
from api.jobstore import JobStore
from api.publisher import JobPublisher
from api.ratelimit import RateLimiter
from api.templatestore import TemplateStore
from schemas.settings import Settings
from streams import tracing


class FixedEstimate:
    async def estimate(self, spec: object, *_: object) -> float:
        return 60.0


class Producer:
    sent: list[tuple[str, list[tuple[str, bytes]]]] = []

    async def send_and_wait(self, topic: str, value: bytes, key: bytes, headers: Any) -> None:
        self.sent.append((topic, headers))


settings = Settings(kafka_bootstrap_servers="unused:9092")
exporter = InMemorySpanExporter()
provider = tracing.configure_tracing(settings, "api", exporter)
publisher = JobPublisher(settings)
publisher._started = Producer()  # type: ignore[assignment]
service = JobService(
    settings, JobStore(settings), publisher, FixedEstimate(), RateLimiter(0), TemplateStore(settings)
)
client = TestClient(create_app(settings, service))
upstream = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
spec = {"width": 64, "height": 64, "elements": [{"type": "color", "color": "#ff0000"}]}
answer = client.post("/api/v1/videocreate", json=spec, headers={"traceparent": upstream})
assert answer.status_code == 202, answer.text
provider.force_flush()
spans = {span.name: span for span in exporter.get_finished_spans()}
http = spans["POST /api/v1/videocreate"]
publish = spans["publish videogen.jobs.requested"]
assert http.context.trace_id == int("0af7651916cd43dd8448eb211c80319c", 16)
assert publish.parent.span_id == http.context.span_id
assert http.attributes["job_id"] == publish.attributes["job_id"] == answer.json()["job_id"]
assert "publish videogen.jobs.events" not in spans
[(_, headers)] = [sent for sent in Producer.sent if sent[0] == "videogen.jobs.requested"]
assert dict(headers)["traceparent"].decode().split("-")[2] == f"{publish.context.span_id:016x}"
assert http.resource.attributes["service.name"] == "videogen-api"
"""


def test_the_api_request_span_is_the_parent_of_the_job_request_it_publishes() -> None:
    """In a process of its own: the provider is global, and the API adds the plugin only with one."""
    subprocess.run([sys.executable, "-c", API_TRACE], check=True, cwd=Path(__file__).parents[2], timeout=60)
