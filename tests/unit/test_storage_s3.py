"""The upload against the real S3 protocol (moto_server), through a proxy that answers 500 to the
first PUTs (and DELETEs); that a failed multipart upload leaves none open; and the bucket's
lifecycle and CORS rules."""

from __future__ import annotations

import http.client
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import storage.s3 as storage
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings
from storage.s3 import (
    CHUNK_CACHE_RULE_ID,
    IDEMPOTENCY_RULE_ID,
    INCOMPLETE_RULE_ID,
    RULE_ID,
    VOICE_CACHE_RULE_ID,
    configure_bucket,
    ensure_bucket,
    s3_client,
    stored_size,
    upload_file,
)

RETRIES = 3


@dataclass
class FlakyS3:
    """A proxy in front of moto that fails the first `fail_puts` PUTs and `fail_deletes` DELETEs
    (an abort of a multipart upload is one) with a 500."""

    endpoint: str
    fail_puts: int
    fail_deletes: int = 0
    puts: int = 0
    deletes: int = 0

    def fails(self, method: str) -> bool:
        if method == "PUT":
            self.puts += 1
            return self.puts <= self.fail_puts
        if method == "DELETE":
            self.deletes += 1
            return self.deletes <= self.fail_deletes
        return False


def _proxy_handler(upstream: str, flaky: FlakyS3) -> type[http.server.BaseHTTPRequestHandler]:
    host, port = upstream.removeprefix("http://").split(":")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # answers Expect: 100-continue, as S3 does

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if flaky.fails(self.command):
                error = b"<Error><Code>InternalError</Code><Message>try again</Message></Error>"
                self.send_response(500)
                self.send_header("Content-Length", str(len(error)))
                self.end_headers()
                self.wfile.write(error)
                return
            upstream_conn = http.client.HTTPConnection(host, int(port), timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "expect"}
            upstream_conn.request(self.command, self.path, body=body, headers=headers)
            response = upstream_conn.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            length = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            upstream_conn.close()

        do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _forward

    return Handler


@pytest.fixture
def flaky_s3(moto_endpoint: str, request: pytest.FixtureRequest) -> Iterator[FlakyS3]:
    flaky = FlakyS3(endpoint="", fail_puts=int(request.param))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(moto_endpoint, flaky))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    flaky.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield flaky
    finally:
        server.shutdown()
        server.server_close()


def _settings(endpoint: str, **extra: Any) -> Settings:
    base: dict[str, Any] = {
        "s3_endpoint_url": endpoint,
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
        "s3_bucket_name": "uploads",
        "upload_retries": RETRIES,
    }
    return Settings(**{**base, **extra})


def _put_attempts_per_upload(settings: Settings) -> int:
    """botocore itself retries a 500 inside one upload attempt; count what one attempt may use."""
    return int(s3_client(settings).meta.config.retries["total_max_attempts"])


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    path = tmp_path / "out.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    return path


@pytest.mark.parametrize("flaky_s3", [4], indirect=True)
def test_upload_succeeds_after_failed_attempts(flaky_s3: FlakyS3, moto_endpoint: str, rendered: Path) -> None:
    settings = _settings(flaky_s3.endpoint)
    assert flaky_s3.fail_puts < RETRIES * _put_attempts_per_upload(settings), "must be recoverable"
    ensure_bucket(_settings(moto_endpoint))
    size = upload_file(settings, rendered, "processed/video_vg_retry_1.mp4", "mp4")
    assert size == rendered.stat().st_size
    assert flaky_s3.puts == flaky_s3.fail_puts + 1
    stored = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    ).get_object(Bucket="uploads", Key="processed/video_vg_retry_1.mp4")
    assert stored["Body"].read() == rendered.read_bytes()
    assert stored["ContentType"] == "video/mp4"


@pytest.mark.parametrize("flaky_s3", [100], indirect=True)
def test_upload_fails_cleanly_after_its_retries(
    flaky_s3: FlakyS3, moto_endpoint: str, rendered: Path
) -> None:
    settings = _settings(flaky_s3.endpoint)
    ensure_bucket(_settings(moto_endpoint))
    with pytest.raises(JobError) as caught:
        upload_file(settings, rendered, "processed/video_vg_retry_2.mp4", "mp4")
    assert caught.value.code == ErrorCode.S3_UPLOAD_FAILED
    assert flaky_s3.puts == RETRIES * _put_attempts_per_upload(settings)
    assert str(rendered) not in caught.value.message


PART = 5 * 1024 * 1024  # S3's smallest part


@pytest.fixture
def large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file uploaded in two parts: the threshold lowered to S3's smallest part."""
    monkeypatch.setattr(storage, "MULTIPART_THRESHOLD", PART)
    path = tmp_path / "large.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x01" * (PART + 1024))
    return path


def _open_uploads(endpoint: str, bucket: str) -> list[dict[str, Any]]:
    return list(s3_client(_settings(endpoint)).list_multipart_uploads(Bucket=bucket).get("Uploads", []))


@pytest.mark.parametrize("flaky_s3", [100], indirect=True)
@pytest.mark.parametrize("refused_aborts", ["none", "the transfer's", "all"])
def test_a_failed_multipart_upload_leaves_none_open(
    flaky_s3: FlakyS3, moto_endpoint: str, large: Path, refused_aborts: str
) -> None:
    """Parts refused: boto3's transfer aborts its upload; when its abort is refused too (every
    DELETE botocore sends for it), the upload's own cleanup aborts it. With every abort refused,
    the failure is still the upload's, and the lifecycle rule is left to abort them."""
    settings = _settings(flaky_s3.endpoint, s3_bucket_name="multipart", upload_retries=2)
    flaky_s3.fail_deletes = {"none": 0, "the transfer's": _put_attempts_per_upload(settings), "all": 100}[
        refused_aborts
    ]
    ensure_bucket(_settings(moto_endpoint, s3_bucket_name="multipart"))
    with pytest.raises(JobError) as caught:
        upload_file(settings, large, "processed/video_vg_multipart_1.mp4", "mp4")
    assert caught.value.code == ErrorCode.S3_UPLOAD_FAILED
    left = _open_uploads(moto_endpoint, "multipart")
    for upload in left:  # the next case starts from an empty bucket
        s3_client(_settings(moto_endpoint)).abort_multipart_upload(
            Bucket="multipart", Key=upload["Key"], UploadId=upload["UploadId"]
        )
    assert len(left) == (2 if refused_aborts == "all" else 0)  # one an attempt


def test_an_upload_interrupted_mid_transfer_leaves_none_open(
    moto_endpoint: str, large: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupt between parts (as Ctrl-C would raise in a caller's main thread) is no error
    to retry: it propagates as it is, once the upload it interrupted is aborted."""
    settings = _settings(moto_endpoint, s3_bucket_name="interrupted")
    ensure_bucket(settings)
    client = s3_client(settings)

    def interrupted(path: str, bucket: str, key: str, **kwargs: Any) -> None:
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x" * PART)
        raise KeyboardInterrupt

    monkeypatch.setattr(client, "upload_file", interrupted)
    assert stored_size(settings, "processed/video_vg_interrupted_1.mp4") is None
    with pytest.raises(KeyboardInterrupt):
        upload_file(settings, large, "processed/video_vg_interrupted_1.mp4", "mp4")
    assert _open_uploads(moto_endpoint, "interrupted") == []


def test_stored_size_tells_a_redelivered_upload_the_work_is_done(moto_endpoint: str, rendered: Path) -> None:
    settings = _settings(moto_endpoint)
    ensure_bucket(settings)
    key = "processed/video_vg_redelivered_1.mp4"
    assert stored_size(settings, key) is None
    upload_file(settings, rendered, key, "mp4")
    assert stored_size(settings, key) == rendered.stat().st_size


def test_missing_bucket_maps_to_its_code(moto_endpoint: str, rendered: Path) -> None:
    with pytest.raises(JobError) as caught:
        upload_file(
            _settings(moto_endpoint, s3_bucket_name="no-such-bucket"), rendered, "processed/x.mp4", "mp4"
        )
    assert caught.value.code == ErrorCode.S3_BUCKET_NOT_FOUND


def test_bucket_rules_are_put_and_keep_other_rules(moto_endpoint: str) -> None:
    settings = _settings(moto_endpoint, s3_bucket_name="ruled", s3_lifecycle_days=7)
    ensure_bucket(settings)
    client = s3_client(settings)
    other = {"ID": "operator", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 1}}
    client.put_bucket_lifecycle_configuration(Bucket="ruled", LifecycleConfiguration={"Rules": [other]})
    configure_bucket(settings)
    configure_bucket(settings)  # idempotent
    rules = {r["ID"]: r for r in client.get_bucket_lifecycle_configuration(Bucket="ruled")["Rules"]}
    ours = {RULE_ID, INCOMPLETE_RULE_ID, IDEMPOTENCY_RULE_ID, VOICE_CACHE_RULE_ID, CHUNK_CACHE_RULE_ID}
    assert set(rules) == {"operator", *ours}
    assert rules[RULE_ID]["Expiration"]["Days"] == 7
    assert rules[RULE_ID]["Filter"]["Prefix"] == "processed/"
    assert rules[INCOMPLETE_RULE_ID]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rules[INCOMPLETE_RULE_ID]["Filter"].get("Prefix", "") == ""  # the whole bucket
    assert rules[IDEMPOTENCY_RULE_ID]["Filter"]["Prefix"] == "idempotency/"
    assert rules[IDEMPOTENCY_RULE_ID]["Expiration"]["Days"] == 1
    assert rules[VOICE_CACHE_RULE_ID]["Filter"]["Prefix"] == "cache/voices/"
    assert rules[VOICE_CACHE_RULE_ID]["Expiration"]["Days"] == 7
    assert rules[CHUNK_CACHE_RULE_ID]["Filter"]["Prefix"] == "cache/chunks/"
    assert rules[CHUNK_CACHE_RULE_ID]["Expiration"]["Days"] == 7
    (cors,) = client.get_bucket_cors(Bucket="ruled")["CORSRules"]
    assert sorted(cors["AllowedMethods"]) == ["GET", "HEAD", "POST"] and cors["AllowedOrigins"] == ["*"]


def test_bucket_rules_failing_is_logged_not_fatal(
    moto_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    configure_bucket(_settings(moto_endpoint, s3_bucket_name="never-created"))
    assert "could not set the lifecycle/CORS rules" in caplog.text


def test_no_lifecycle_days_leaves_the_lifecycle_alone(moto_endpoint: str) -> None:
    settings = _settings(moto_endpoint, s3_bucket_name="unruled", s3_lifecycle_days=0)
    ensure_bucket(settings)
    configure_bucket(settings)
    with pytest.raises(ClientError, match="NoSuchLifecycleConfiguration"):
        s3_client(settings).get_bucket_lifecycle_configuration(Bucket="unruled")
