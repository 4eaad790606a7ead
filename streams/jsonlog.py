"""Structured JSON logs: one object per line with job_id, request_id and stage on every line, and
the trace and span ids when a span is current (streams/tracing.py).

The ids come from context variables set where a job is being handled, so library code
logging deep inside a stage is tagged too. Secrets never reach a line: known secret
settings are masked, and URL query strings (presigned signatures, tokens) are cut.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar

import orjson
from opentelemetry import trace

job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
stage_var: ContextVar[str | None] = ContextVar("stage", default=None)

_QUERY_RE = re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*")
_SECRET_RE = re.compile(
    r"(?i)(aws_secret_access_key|secret|password|token|signature|api[_-]?keys?|x-amz-[a-z-]+)(['\"]?\s*[:=]\s*['\"]?)[^\s,'\"&}]+"
)
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    """Cut URL query strings and mask key=value secrets."""
    return _SECRET_RE.sub(r"\1\2***", _QUERY_RE.sub(r"\1?…", text))


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "process": self.process,
            "logger": record.name,
            "job_id": getattr(record, "job_id", None) or job_id_var.get(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "stage": getattr(record, "stage", None) or stage_var.get(),
            "msg": redact(record.getMessage()),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:  # tracing is on (streams/tracing.py) and a span is current
            entry["trace_id"] = trace.format_trace_id(span.trace_id)
            entry["span_id"] = trace.format_span_id(span.span_id)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def json_handler(process: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(process))
    return handler


def configure_logging(process: str, level: str) -> logging.Handler:
    """Route every logger (ours, Faust's, uvicorn's) through one JSON handler."""
    handler = json_handler(process)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faust", "mode", "aiokafka"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("botocore").setLevel(max(logging.WARNING, root.level))
    return handler


@contextlib.contextmanager
def job_context(
    job_id: str | None, request_id: str | None = None, stage: str | None = None
) -> Iterator[None]:
    tokens = (job_id_var.set(job_id), request_id_var.set(request_id), stage_var.set(stage))
    try:
        yield
    finally:
        job_id_var.reset(tokens[0])
        request_id_var.reset(tokens[1])
        stage_var.reset(tokens[2])
