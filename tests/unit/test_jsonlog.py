from __future__ import annotations

import logging

import orjson

from streams.jsonlog import JsonFormatter, job_context, redact


def test_redacts_presigned_queries_and_secrets() -> None:
    text = (
        "GET https://b.s3.amazonaws.com/k.mp4?X-Amz-Signature=abc&X-Amz-Credential=x "
        "aws_secret_access_key=SECRET"
    )
    cleaned = redact(text)
    assert "abc" not in cleaned and "SECRET" not in cleaned
    assert "https://b.s3.amazonaws.com/k.mp4" in cleaned


def test_every_line_carries_job_and_request_ids() -> None:
    formatter = JsonFormatter("test")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "rendering %s", ("now",), None)
    with job_context("vg_abc", "req-1", "render"):
        line = orjson.loads(formatter.format(record))
    assert line["job_id"] == "vg_abc" and line["request_id"] == "req-1" and line["stage"] == "render"
    assert line["msg"] == "rendering now"
