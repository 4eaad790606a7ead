"""One job, one trace: an API and a worker of their own (each its own process) export their spans
over OTLP/HTTP to a receiver in this test, which decodes them as a collector would. The trace
runs from the HTTP request through every Kafka hop and stage to each FFmpeg run, every parent
link intact; a request an upstream producer publishes with a `traceparent` continues its trace."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import orjson
import pytest
from confluent_kafka import Producer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from deploy.embedded import Stack, start_api, start_infrastructure, start_worker
from schemas.settings import Settings
from streams import topics
from tests.e2e.conftest import free_port
from tests.e2e.test_pipeline import wait_for_terminal

pytestmark = pytest.mark.e2e

SPANS_TIMEOUT_SECONDS = 30.0
STAGES = ("validate", "fetch", "render", "upload", "notify")


@dataclass(frozen=True)
class CollectedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root
    attributes: dict[str, object]


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


class Receiver(ThreadingHTTPServer):
    """The part of an OpenTelemetry collector this test needs: POST /v1/traces, protobuf bodies."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.spans: list[CollectedSpan] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def of_job(self, job_id: str) -> list[CollectedSpan]:
        with self.lock:
            return [span for span in self.spans if span.attributes.get("job_id") == job_id]


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
            self.send_response(404)
            self.end_headers()
            return
        request = ExportTraceServiceRequest.FromString(body)
        found = []
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found.append(
                        CollectedSpan(
                            service=str(resource.get("service.name")),
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                        )
                    )
        with self.server.lock:
            self.server.spans.extend(found)
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class TracedStack:
    receiver: Receiver
    settings: Settings
    worker_port: int

    @property
    def base(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TracedStack]:
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    data_dir = tmp_path_factory.mktemp("traced")
    overrides = {
        "PORT": str(free_port()),
        "EMBEDDED_BROKER_PORT": str(free_port()),
        "EMBEDDED_S3_PORT": str(free_port()),
        "ANALYTICS_PORT": str(free_port()),
        "DATA_DIR": str(data_dir),
        "KAFKA_TOPIC_PARTITIONS": "2",
        "MAX_CONCURRENT_JOBS": "1",
        "FFMPEG_THREADS": "1",
        "QUICK_RESPONSE_THRESHOLD_SECONDS": "0",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "S3_", "AWS_", "CLICKHOUSE"))}
    stack = Stack(
        Settings.model_validate({k.lower(): v for k, v in overrides.items()}), env={**env, **overrides}
    )
    worker_port = free_port()
    try:
        resolved = start_infrastructure(stack)
        start_worker(stack, resolved, "worker", worker_port)
        start_api(stack, resolved)
        yield TracedStack(receiver, resolved, worker_port)
    finally:
        stack.stop()
        receiver.shutdown()


def _color_spec() -> dict[str, object]:
    return {
        "output_format": "mp4",
        "width": 160,
        "height": 120,
        "duration": 1,
        "elements": [{"type": "color", "color": "#00ff00"}],
    }


def _spans_until(receiver: Receiver, job_id: str, stages: set[str]) -> list[CollectedSpan]:
    """The job's spans once every stage in `stages` (and an FFmpeg run) has been exported."""
    deadline = time.monotonic() + SPANS_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        spans = receiver.of_job(job_id)
        names = {span.name for span in spans}
        if {f"stage {stage}" for stage in stages} | {"ffmpeg"} <= names:
            return spans
        time.sleep(0.3)
    raise AssertionError(
        f"spans of {job_id} not exported: {sorted({s.name for s in receiver.of_job(job_id)})}"
    )


def _by_id(spans: list[CollectedSpan]) -> dict[str, CollectedSpan]:
    return {span.span_id: span for span in spans}


def _ancestors(span: CollectedSpan, by_id: dict[str, CollectedSpan]) -> list[str]:
    names = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        names.append(span.name)
    return names


def test_a_job_is_one_trace_from_the_http_request_to_ffmpeg_on_another_process(
    traced: TracedStack,
) -> None:
    with httpx.Client(base_url=traced.base, timeout=httpx.Timeout(10.0, read=60.0)) as client:
        answer = client.post("/api/v1/videocreate", json=_color_spec())
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job_id"]
        assert wait_for_terminal(client, job_id, timeout=120)["status"] == "completed"
    spans = _spans_until(traced.receiver, job_id, {*STAGES, "records"})

    assert len({span.trace_id for span in spans}) == 1, {(s.name, s.trace_id) for s in spans}
    by_id = _by_id(spans)
    [root] = [span for span in spans if not span.parent_id]
    assert (root.name, root.service) == ("POST /api/v1/videocreate", "videogen-api")
    orphans = [span.name for span in spans if span.parent_id and span.parent_id not in by_id]
    assert not orphans, f"spans whose parent was not exported: {orphans}"
    worker = f"videogen-worker-{traced.worker_port}"
    named = {span.name: span for span in spans}
    assert _ancestors(named["stage validate"], by_id) == ["publish videogen.jobs.requested", root.name]
    assert named["publish videogen.jobs.requested"].service == "videogen-api"
    assert _ancestors(named["stage render"], by_id)[:4] == [
        "publish videogen.jobs.fetched", "stage fetch", "publish videogen.jobs.validated", "stage validate",
    ]  # fmt: skip
    # The job's end event, published by the notify stage, is where its record is stored from.
    assert _ancestors(named["stage records"], by_id)[0] == "stage notify"
    for stage in (*STAGES, "records"):
        assert named[f"stage {stage}"].service == worker
        assert named[f"stage {stage}"].attributes["stage"] == stage
    renders = [
        span for span in spans if span.name == "ffmpeg" and span.parent_id == named["stage render"].span_id
    ]
    assert renders and all(
        span.service == worker and span.attributes["ffmpeg.exit_code"] == 0 for span in renders
    )
    assert all(span.attributes.get("tenant") is not None for span in spans)
    worker_log = (traced.settings.data_dir / "logs" / "worker.log").read_text()
    assert f'"trace_id":"{root.trace_id}"' in worker_log


def test_a_request_from_an_upstream_producer_continues_its_trace(traced: TracedStack) -> None:
    job_id = f"traced_{uuid.uuid4().hex[:8]}"
    trace_id, parent_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    producer = Producer({"bootstrap.servers": traced.settings.bootstrap_servers, "linger.ms": 0})
    request = {"job_id": job_id, "tenant": "upstream", "spec": _color_spec()}
    producer.produce(
        topics.REQUESTED,
        key=job_id.encode(),
        value=orjson.dumps(request),
        headers=[("traceparent", f"00-{trace_id}-{parent_id}-01".encode())],
    )
    assert producer.flush(15) == 0
    with httpx.Client(base_url=traced.base, timeout=10.0) as client:
        assert wait_for_terminal(client, job_id, timeout=120)["status"] == "completed"
    spans = _spans_until(traced.receiver, job_id, {"validate", "render"})
    assert {span.trace_id for span in spans} == {trace_id}
    [validate] = [span for span in spans if span.name == "stage validate"]
    assert validate.parent_id == parent_id and validate.attributes["tenant"] == "upstream"
    assert all(span.attributes["tenant"] == "upstream" for span in spans)
