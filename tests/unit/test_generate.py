"""Seed 003's routes without a broker: an inline template's tracks as elements (fields named as
written), a saved template with inputs, the status through a job's life, cancel, and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from api.tracks import inline_spec
from schemas.errors import ErrorCode, JobError
from schemas.events import ErrorInfo, JobEnded
from tests.unit.test_api_websocket import RESULT
from tests.unit.test_templates import TEMPLATE, Stack, _save, stack

__all__ = ["stack"]  # the fixture, shared with the templates' tests

TRACKS: dict[str, Any] = {
    "width": 640,
    "height": 360,
    "duration": 3,
    "tracks": [
        {"type": "background", "color": "#112233"},
        {"type": "image", "src": "{{photo}}", "x": 20, "y": 20, "width": 200, "height": 200, "fit": "cover"},
        {"type": "text", "id": "title", "text": "Hi {{name}}", "fontSize": "{{size}}", "animation": "fade"},
        {"type": "audio", "src": "s3://videogen/samples/music.m4a", "loop": True, "volume": 0.5},
    ],
}
INPUTS = {"photo": "https://cdn.test/ada.png", "name": "Ada", "size": 40}


def _fields(call: Any, *args: Any) -> list[str]:
    with pytest.raises(JobError) as caught:
        call(*args)
    assert caught.value.code == ErrorCode.INVALID_INPUT
    return [f["field"] for f in caught.value.details["fields"]]


def test_each_track_becomes_one_element_later_ones_on_top() -> None:
    spec = inline_spec(TRACKS, INPUTS)
    assert (spec.width, spec.height, spec.duration, spec.output_format) == (640, 360, 3, "mp4")
    background, image, text, audio = spec.elements
    assert (background.type, background.track, background.color) == ("color", 0, "#112233")
    assert (image.type, image.track, image.source, image.fit_mode) == ("image", 2, INPUTS["photo"], "cover")
    assert (text.type, text.id, text.text, text.font_size) == ("text", "title", "Hi Ada", 40)
    assert (text.fade_in, text.fade_out) == (0.5, 0.5)
    assert (audio.type, audio.duration_mode, audio.volume) == ("audio", "loop", 0.5)


def test_a_background_picture_covers_the_frame_and_a_video_loops() -> None:
    tracks = {"tracks": [{"type": "background", "src": "https://cdn.test/bg.mp4?x=1"}]}
    [video] = inline_spec(tracks, {}).elements
    assert (video.type, video.fit_mode, video.duration_mode, video.track) == ("video", "cover", "loop", 0)
    [image] = inline_spec({"tracks": [{"type": "background", "src": "https://cdn.test/bg.jpg"}]}, {}).elements
    assert (image.type, image.fit_mode) == ("image", "cover")


def test_errors_name_the_track_field_as_written() -> None:
    assert _fields(inline_spec, TRACKS, {**INPUTS, "size": "huge"}) == ["template.tracks.2.fontSize"]
    assert _fields(inline_spec, TRACKS, {"photo": "p", "name": "A"}) == ["inputs.size"]
    assert _fields(inline_spec, TRACKS, {**INPUTS, "other": 1}) == ["inputs.other"]
    bad = {
        **TRACKS,
        "width": 641,
        "tracks": [{"type": "background"}, {"type": "text", "start": -1, "text": "x"}],
    }
    assert _fields(inline_spec, bad, {}) == ["template.tracks.0"]
    bad = {**TRACKS, "width": 641, "tracks": [{"type": "text", "start": -1, "text": "x", "color": "red"}]}
    assert _fields(inline_spec, bad, {}) == [
        "template.width",
        "template.tracks.0.start",
        "template.tracks.0.color",
    ]


def test_an_inline_spec_with_elements_is_a_template_too() -> None:
    spec = inline_spec(TEMPLATE["spec"], {"photo": "https://cdn.test/p.png", "name": "Ada", "size": 30})
    assert spec.elements[1].text == "Hello Ada"
    assert _fields(
        inline_spec, {**TEMPLATE["spec"], "width": 641}, {"photo": "p", "name": "A", "size": 3}
    ) == ["template.width"]


# --- the routes ----------------------------------------------------------------------------------


def _generate(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/video/generate", json=body)
    assert response.status_code == 202, response.text
    return dict(response.json())


def test_generate_inline_then_follow_the_status_to_completed(stack: Stack) -> None:
    client, publisher = stack
    accepted = _generate(
        client, {"template": TRACKS, "inputs": INPUTS, "webhook_url": "https://hooks.test/v"}
    )
    job_id = accepted["jobId"]
    assert job_id.startswith("gen_") and accepted["status"] == "queued"
    assert accepted["statusUrl"] == f"/api/video/status/{job_id}"
    assert accepted["cancelUrl"] == f"/api/video/cancel/{job_id}"
    assert accepted["websocketUrl"] == f"ws://testserver.local/ws/jobs/{job_id}"
    [(request, _)] = publisher.sent
    assert request.callback_url == "https://hooks.test/v" and request.spec == inline_spec(TRACKS, INPUTS)
    status = client.get(f"/api/video/status/{job_id}").json()
    assert (status["status"], status["progress"], status["result"], status["error"]) == (
        "queued",
        0,
        None,
        None,
    )
    publisher.jobs.push(
        JobEnded(
            job_id=job_id,
            tenant="alpha",
            stage="upload",
            status="completed",
            progress_percent=100,
            result=RESULT,
        )
    )
    status = client.get(f"/api/video/status/{job_id}").json()
    assert status["status"] == "completed" and status["progress"] == 100
    assert status["result"]["videoUrl"] == RESULT.result_url and status["finishedAt"].endswith("Z")


def test_a_failure_is_kept_with_its_error(stack: Stack) -> None:
    client, publisher = stack
    job_id = _generate(client, {"template": TRACKS, "inputs": INPUTS})["jobId"]
    error = ErrorInfo(
        code=ErrorCode.SOURCE_DOWNLOAD_FAILED, message="404 from cdn.test", details={"element": "1"}
    )
    publisher.jobs.push(JobEnded(job_id=job_id, tenant="alpha", stage="fetch", status="failed", error=error))
    status = client.get(f"/api/video/status/{job_id}").json()
    assert status["status"] == "failed"
    assert status["error"] == {
        "code": "SOURCE_DOWNLOAD_FAILED",
        "message": "404 from cdn.test",
        "details": {"element": "1"},
    }


def test_generate_a_saved_template_by_id(stack: Stack) -> None:
    client, publisher = stack
    template_id = _save(client)["template_id"]
    job_id = _generate(
        client, {"template_id": template_id, "inputs": {"photo": "https://cdn.test/p.png", "name": "Ada"}}
    )["jobId"]
    [(request, _)] = publisher.sent
    assert request.spec.elements[1].text == "Hello Ada"
    assert client.get(f"/api/video/status/{job_id}").json()["templateId"] == template_id
    missing = client.post("/api/video/generate", json={"template_id": template_id, "inputs": {"name": "Ada"}})
    assert [f["field"] for f in missing.json()["error"]["details"]["fields"]] == ["inputs.photo"]


def test_cancel_then_the_status_says_cancelled(stack: Stack) -> None:
    client, _ = stack
    job_id = _generate(client, {"template": TRACKS, "inputs": INPUTS})["jobId"]
    cancelled = client.delete(f"/api/video/cancel/{job_id}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["error"]["code"] == "CANCELLED"
    again = client.delete(f"/api/video/cancel/{job_id}")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "CONFLICT")


def test_refusals(stack: Stack) -> None:
    client, publisher = stack
    both = client.post("/api/video/generate", json={"template_id": "tpl_1", "template": TRACKS})
    assert both.status_code == 400 and both.json()["error"]["code"] == "INVALID_INPUT"
    assert client.post("/api/video/generate", json={"inputs": {}}).status_code == 400
    unknown = client.post("/api/video/generate", json={"template_id": "tpl_000000000000"})
    assert unknown.status_code == 404
    job_id = _generate(client, {"template": TRACKS, "inputs": INPUTS})["jobId"]
    for path in (f"/api/video/status/{job_id}", f"/api/video/cancel/{job_id}"):
        method = client.get if "status" in path else client.delete
        assert method(path, headers={"X-API-Key": "kb"}).status_code == 404, "another tenant's job"
    other = client.post("/api/v1/videocreate", json={"width": 64, "height": 64, "duration": 1, "elements": [
        {"type": "color", "color": "#000000"}]})  # fmt: skip
    assert client.get(f"/api/video/status/{other.json()['job_id']}").status_code == 404, "not a generate job"
    assert (
        client.post("/api/video/generate", json={"template": TRACKS}, headers={"X-API-Key": "x"}).status_code
        == 401
    )
    assert len(publisher.sent) == 2
