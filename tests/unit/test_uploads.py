"""Studio uploads: safe keys, the accepted types, the presigned POST's policy, and the routes
(upload form, media shelf, delete, fonts) against the real S3 protocol (moto_server)."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import orjson
import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.jobservice import JobService
from api.publisher import JobPublisher
from api.ratelimit import RateLimiter
from api.templatestore import TemplateStore
from schemas.errors import ErrorCode, JobError
from schemas.events import Ahead
from schemas.settings import Settings
from storage.s3 import configure_bucket, ensure_bucket, s3_client
from storage.uploads import (
    OPEN_FOLDER,
    content_type_of,
    safe_filename,
    tenant_folder,
    upload_form,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # the shelf never opens it: screening is the fetch stage's


@pytest.mark.parametrize(
    ("filename", "content_type", "expected"),
    [
        ("holiday photo.png", "image/png", "holiday_photo.png"),
        ("../../etc/passwd.png", "image/png", "passwd.png"),
        ("C:\\Users\\me\\clip.MOV", "video/quicktime", "clip.mov"),
        (".hidden.jpeg", "image/jpeg", "hidden.jpeg"),
        ("no extension", "audio/mpeg", "no_extension.mp3"),
        ("wrong.exe", "image/png", "wrong.png"),
        ("ünïcødé 🎬.webm", "video/webm", "n_c_d.webm"),
        ("....", "font/ttf", "file.ttf"),
        ("a" * 500 + ".woff2", "font/woff2", "a" * 94 + ".woff2"),
    ],
)
def test_filenames_are_made_safe_and_keep_an_extension_of_their_type(
    filename: str, content_type: str, expected: str
) -> None:
    assert safe_filename(filename, content_type) == expected


@pytest.mark.parametrize(
    ("content_type", "filename", "stored"),
    [
        ("image/png", "a.png", "image/png"),
        ("IMAGE/JPEG", "a.jpg", "image/jpeg"),
        ("image/jpg", "a.jpg", "image/jpeg"),
        ("audio/x-wav", "a.wav", "audio/wav"),
        ("text/vtt; charset=utf-8", "a.vtt", "text/vtt"),
        ("", "captions.srt", "application/x-subrip"),
        ("application/octet-stream", "font.otf", "font/otf"),
        ("video/x-matroska", "a.mkv", "video/x-matroska"),
    ],
)
def test_accepted_types(content_type: str, filename: str, stored: str) -> None:
    assert content_type_of(content_type, filename) == stored


@pytest.mark.parametrize(
    ("content_type", "filename"),
    [
        ("text/html", "page.html"),
        ("application/x-mpegurl", "list.m3u8"),
        ("image/svg+xml", "logo.svg"),
        ("image/tiff", "scan.tiff"),
        ("", "archive.zip"),
        ("application/octet-stream", "no-extension"),
    ],
)
def test_types_no_source_may_be_are_refused_naming_content_type(content_type: str, filename: str) -> None:
    with pytest.raises(JobError) as refused:
        content_type_of(content_type, filename)
    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert refused.value.details["fields"][0]["field"] == "content_type"


def test_tenant_folders_are_stable_distinct_and_safe() -> None:
    assert tenant_folder(None) == OPEN_FOLDER
    assert tenant_folder("alpha") == tenant_folder("alpha")
    assert tenant_folder("a b") != tenant_folder("a_b")
    assert tenant_folder("alpha").startswith("alpha-")
    assert "/" not in tenant_folder("../x/y") and not tenant_folder("../x").startswith(".")


def _policy(fields: dict[str, str]) -> dict[str, Any]:
    return dict(orjson.loads(base64.b64decode(fields["policy"])))


def test_the_form_holds_s3_to_the_key_type_and_size_cap() -> None:
    settings = Settings(
        s3_endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        max_file_size_mb=2,
        upload_url_expiry_seconds=600,
    )
    form = upload_form(settings, "alpha", "My Logo.PNG", "image/png", 1000)
    key = f"uploads/{tenant_folder('alpha')}/{form.upload_id}/My_Logo.png"
    assert form.fields["key"] == key and form.fields["Content-Type"] == "image/png"
    assert form.source_url == f"s3://videogen/{key}"
    assert form.max_bytes == 2 * 1024 * 1024
    conditions = _policy(form.fields)["conditions"]
    assert ["content-length-range", 1, 2 * 1024 * 1024] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert {"key": key} in conditions and {"bucket": "videogen"} in conditions
    for field, size in (("size", 0), ("size", 2 * 1024 * 1024 + 1)):
        with pytest.raises(JobError) as refused:
            upload_form(settings, "alpha", "a.png", "image/png", size)
        assert refused.value.details["fields"][0]["field"] == field


def test_the_form_goes_to_the_endpoint_browsers_reach() -> None:
    inside = Settings(s3_endpoint_url="http://minio:9000", aws_access_key_id="k", aws_secret_access_key="s")
    assert upload_form(inside, None, "a.png", "image/png", 9).url == "http://minio:9000/videogen"
    outside = inside.model_copy(update={"upload_s3_endpoint_url": "http://localhost:9000"})
    assert upload_form(outside, None, "a.png", "image/png", 9).url == "http://localhost:9000/videogen"
    assert s3_client(outside).meta.endpoint_url == "http://minio:9000"  # the services' own client stays


def test_no_uploads_to_a_bucket_jobs_may_not_read() -> None:
    settings = Settings(source_s3_buckets="elsewhere", aws_access_key_id="k", aws_secret_access_key="s")
    with pytest.raises(JobError) as refused:
        upload_form(settings, None, "a.png", "image/png", 10)
    assert refused.value.code == ErrorCode.FORBIDDEN


class _NoJobs:
    backlog, workers = 0, 1

    def ahead(self) -> Ahead:
        return Ahead()

    def in_flight(self, tenant: str) -> int:
        return 0


class _NoEstimate:
    async def estimate(self, spec: object, *_: object) -> float:
        return 1.0


@pytest.fixture(scope="module")
def api(moto_endpoint: str) -> TestClient[Any]:
    settings = Settings(
        api_keys="alpha:ka,beta:kb",
        s3_endpoint_url=moto_endpoint,
        s3_bucket_name="shelf",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        max_file_size_mb=1,
    )
    ensure_bucket(settings)
    configure_bucket(settings)
    s3_client(settings).put_object(Bucket="shelf", Key="samples/logo.png", Body=PNG, ContentType="image/png")
    service = JobService(
        settings,
        _NoJobs(),  # type: ignore[arg-type]
        JobPublisher(settings),
        _NoEstimate(),  # type: ignore[arg-type]
        RateLimiter(0),
        TemplateStore(settings),
    )
    return TestClient(create_app(settings, service))  # no lifespan: no Kafka needed


ALPHA, BETA = {"X-API-Key": "ka"}, {"X-API-Key": "kb"}


def _upload(
    api: TestClient[Any], headers: dict[str, str], name: str, body: bytes = PNG, declared: int = len(PNG)
) -> dict[str, Any]:
    response = api.post(
        "/api/v1/uploads",
        json={"filename": name, "content_type": "image/png", "size": declared},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    form: dict[str, Any] = response.json()
    stored = httpx.post(form["url"], data=form["fields"], files={"file": (name, body, "image/png")})
    assert stored.status_code == 204, stored.text
    return form


def test_an_upload_is_on_its_tenants_shelf_only(api: TestClient[Any]) -> None:
    first = _upload(api, ALPHA, "first.png")
    time.sleep(1.1)  # S3 keeps an object's time to the second
    second = _upload(api, ALPHA, "second.png")
    shelf = api.get("/api/v1/media", headers=ALPHA).json()
    assert [item["name"] for item in shelf["uploads"][:2]] == ["second.png", "first.png"]  # newest first
    mine = shelf["uploads"][0]
    assert mine["source_url"] == second["source_url"] and mine["upload_id"] == second["upload_id"]
    assert mine["content_type"] == "image/png" and mine["size"] == len(PNG)
    assert httpx.get(mine["url"]).content == PNG
    assert [s["source_url"] for s in shelf["samples"]] == ["s3://shelf/samples/logo.png"]
    assert shelf["samples"][0]["upload_id"] is None
    assert api.get("/api/v1/media", headers=BETA).json()["uploads"] == []
    assert api.delete(f"/api/v1/media/{first['upload_id']}", headers=BETA).status_code == 404
    assert api.delete(f"/api/v1/media/{first['upload_id']}", headers=ALPHA).status_code == 204
    names = [item["name"] for item in api.get("/api/v1/media", headers=ALPHA).json()["uploads"]]
    assert "first.png" not in names and "second.png" in names


def test_the_shelf_pages(api: TestClient[Any]) -> None:
    for n in range(3):
        _upload(api, BETA, f"b{n}.png")
    whole = [item["name"] for item in api.get("/api/v1/media", headers=BETA).json()["uploads"]]
    assert sorted(whole) == ["b0.png", "b1.png", "b2.png"]
    page = api.get("/api/v1/media", params={"limit": 2}, headers=BETA).json()
    assert [item["name"] for item in page["uploads"]] == whole[:2]
    assert (page["total"], page["next_offset"]) == (3, 2)
    rest = api.get("/api/v1/media", params={"limit": 2, "offset": 2}, headers=BETA).json()
    assert [item["name"] for item in rest["uploads"]] == whole[2:] and rest["next_offset"] is None
    assert api.get("/api/v1/media", params={"limit": 0}, headers=BETA).status_code == 400


def test_oversized_objects_stay_off_the_shelf(api: TestClient[Any]) -> None:
    """moto ignores the form's content-length-range; what slips in is never offered (nor fetched)."""
    form = _upload(api, ALPHA, "big.png", PNG + b"\x00" * (1024 * 1024), declared=100)
    names = [item["name"] for item in api.get("/api/v1/media", headers=ALPHA).json()["uploads"]]
    assert "big.png" not in names, form


def test_refusals_name_the_field(api: TestClient[Any]) -> None:
    for body, field in [
        ({"filename": "x.html", "content_type": "text/html", "size": 10}, "content_type"),
        ({"filename": "x.png", "content_type": "image/png", "size": 2 * 1024 * 1024}, "size"),
        ({"filename": "x.png", "content_type": "image/png"}, "size"),
    ]:
        response = api.post("/api/v1/uploads", json=body, headers=ALPHA)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "INVALID_INPUT"
        assert [f["field"] for f in error["details"]["fields"]] == [field]
    assert api.post("/api/v1/uploads", json={}, headers={}).status_code == 401


def test_the_bucket_answers_a_browsers_preflight_for_the_form(
    api: TestClient[Any], moto_endpoint: str
) -> None:
    preflight = httpx.options(
        f"{moto_endpoint}/shelf",
        headers={"Origin": "http://localhost:8000", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:8000"
    assert "POST" in preflight.headers["access-control-allow-methods"]


def test_fonts_name_the_bundled_families_with_their_scripts(api: TestClient[Any]) -> None:
    fonts = {f["family"]: f["scripts"] for f in api.get("/api/v1/fonts", headers=ALPHA).json()["fonts"]}
    assert next(iter(fonts)) == "Roboto"
    assert {"Latin", "Cyrillic"} <= set(fonts["Roboto Bold"])
    assert fonts["Noto Sans Arabic"] == ["Arabic"]
    assert {"Han", "Hangul", "Hiragana"} <= set(fonts["Noto Sans CJK"])
    assert fonts["Noto Emoji"] == ["Emoji"]
    assert all(scripts for scripts in fonts.values())
