"""Studio uploads end to end: a file posted to the embedded S3 (moto_server) the way a browser posts a
presigned form, found on the media shelf, and used at once as a job's source, screened like any."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.api_instance import extra_api
from tests.e2e.conftest import RunningStack
from tests.e2e.test_pipeline import download, wait_for_terminal
from tests.media import make_color_image, near, pixel

pytestmark = pytest.mark.e2e

MB = 1024 * 1024
ORIGIN = "http://localhost:8000"  # the studio's page, another origin than the bucket's


def upload(client: httpx.Client, name: str, body: bytes, content_type: str, size: int | None = None) -> str:
    """Ask for a form, post it as a browser does (the form's fields, then `file`); the source URL."""
    response = client.post(
        "/api/v1/uploads",
        json={"filename": name, "content_type": content_type, "size": len(body) if size is None else size},
    )
    assert response.status_code == 201, response.text
    form: dict[str, Any] = response.json()
    stored = httpx.post(
        form["url"],
        data=form["fields"],
        files={"file": (name, body, form["fields"]["Content-Type"])},
        headers={"Origin": ORIGIN},
        timeout=60,
    )
    assert stored.status_code == 204, stored.text
    assert stored.headers.get("access-control-allow-origin") in (ORIGIN, "*")
    return str(form["source_url"])


def render(client: httpx.Client, source: str) -> dict[str, Any]:
    """The outcome of a 320x240 job showing `source` as a full-frame image."""
    spec = {
        "output_format": "mp4",
        "width": 320,
        "height": 240,
        "duration": 1,
        "elements": [{"type": "image", "source": source, "fit_mode": "cover"}],
    }
    response = client.post("/api/v1/videocreate", json=spec)
    body: dict[str, Any] = response.json()
    if response.status_code == 202:
        return wait_for_terminal(client, body["job_id"])
    if response.status_code == 200:
        return body
    return wait_for_terminal(client, body["error"]["details"]["job_id"])


def test_an_uploaded_png_is_on_the_shelf_and_renders_at_once(stack: RunningStack, tmp_path: Path) -> None:
    png = make_color_image(tmp_path / "magenta.png", color="magenta", size=(64, 48)).read_bytes()
    with stack.client() as client:
        source = upload(client, "My Magenta.png", png, "image/png")
        assert source.startswith(f"s3://{stack.bucket}/uploads/open/") and source.endswith("/My_Magenta.png")
        shelf = client.get("/api/v1/media").json()
        (item,) = [i for i in shelf["uploads"] if i["source_url"] == source]
        assert (item["name"], item["content_type"], item["size"]) == ("My_Magenta.png", "image/png", len(png))
        shown = httpx.get(item["url"], headers={"Origin": ORIGIN})
        assert shown.content == png and shown.headers["access-control-allow-origin"] in (ORIGIN, "*")
        assert {s["name"] for s in shelf["samples"]} >= {"logo.png", "clip.mp4", "music.m4a"}
        done = render(client, source)
    assert done["status"] == "completed", done
    video = download(done["result_url"], tmp_path / "out.mp4")
    for x, y in ((160, 120), (10, 10), (310, 230)):
        assert near(pixel(video, 0.5, x, y), (255, 0, 255)), (x, y)


def test_a_file_that_is_not_its_declared_type_is_refused_at_use(stack: RunningStack) -> None:
    with stack.client() as client:
        source = upload(client, "fake.png", b"<html><script>alert(1)</script></html>", "image/png")
        done = render(client, source)
    assert done["status"] == "failed" and done["error"] == "INVALID_INPUT", done
    assert "not a recognised media format" in done["message"]


def test_a_file_over_the_cap_is_refused_by_the_store_or_at_use(stack: RunningStack, tmp_path: Path) -> None:
    """moto ignores the form's content-length-range (real S3 answers 400 EntityTooLarge): the fetch
    stage's MAX_FILE_SIZE_MB (32 MB in this stack) stops the file, and the shelf does not offer it."""
    png = make_color_image(tmp_path / "big.png", color="red", size=(8, 8)).read_bytes()
    big = png + b"\x00" * (33 * MB)
    with stack.client() as client:
        source = upload(client, "big.png", big, "image/png", size=len(png))
        assert source not in {i["source_url"] for i in client.get("/api/v1/media").json()["uploads"]}
        done = render(client, source)
    assert done["status"] == "failed" and done["error"] == "INVALID_INPUT", done
    assert "32 MB limit" in done["message"]


def test_a_type_no_source_may_be_is_refused_up_front(stack: RunningStack) -> None:
    with stack.client() as client:
        for body, field in [
            ({"filename": "page.html", "content_type": "text/html", "size": 100}, "content_type"),
            ({"filename": "huge.mp4", "content_type": "video/mp4", "size": 33 * MB}, "size"),
        ]:
            response = client.post("/api/v1/uploads", json=body)
            assert response.status_code == 400, response.text
            error = response.json()["error"]
            assert error["code"] == "INVALID_INPUT" and error["details"]["fields"][0]["field"] == field


def test_the_bucket_answers_the_browsers_preflight(stack: RunningStack) -> None:
    preflight = httpx.options(
        f"{stack.s3_endpoint}/{stack.bucket}",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in (ORIGIN, "*")
    assert "POST" in preflight.headers["access-control-allow-methods"]


@pytest.fixture(scope="module")
def keyed_api(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with extra_api(stack, tmp_path_factory.mktemp("uploads-api"), API_KEYS="alpha:ua-1,beta:ub-2") as url:
        yield url


def test_another_tenant_does_not_see_an_upload(keyed_api: str) -> None:
    alpha = httpx.Client(base_url=keyed_api, headers={"X-API-Key": "ua-1"}, timeout=30)
    beta = httpx.Client(base_url=keyed_api, headers={"X-API-Key": "ub-2"}, timeout=30)
    with alpha, beta:
        source = upload(alpha, "mine.srt", b"1\n00:00:00,000 --> 00:00:01,000\nhi\n", "")
        assert source.endswith("/mine.srt") and "/uploads/alpha-" in source
        listed = alpha.get("/api/v1/media").json()["uploads"]
        (item,) = [i for i in listed if i["source_url"] == source]
        assert item["content_type"] == "application/x-subrip"
        assert source not in {i["source_url"] for i in beta.get("/api/v1/media").json()["uploads"]}
        assert beta.delete(f"/api/v1/media/{item['upload_id']}").status_code == 404
        assert alpha.delete(f"/api/v1/media/{item['upload_id']}").status_code == 204
        assert alpha.get("/api/v1/media").json()["uploads"] == []
        assert httpx.get(alpha.base_url.join("/api/v1/fonts")).status_code == 401
        fonts = alpha.get("/api/v1/fonts").json()["fonts"]
        assert fonts[0] == {"family": "Roboto", "scripts": ["Latin", "Greek", "Cyrillic"]}
