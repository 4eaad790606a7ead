"""Subtitles and shapes through the real stack: an SRT fetched from the embedded S3 and burned in
over a video, a malformed SRT over HTTP refused naming its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import MediaServer, RunningStack
from tests.e2e.test_pipeline import download, wait_for_terminal
from tests.media import near, pixel, probe_output

pytestmark = pytest.mark.e2e

SRT = (
    "1\n00:00:00,500 --> 00:00:01,500\n{\\an8}<font color=red>%{pts}</font>\n\n"
    "2\n00:00:02,000 --> 00:00:02,800\nSecond cue\n"
)
WHITE, BLUE, YELLOW = (255, 255, 255), (0, 0, 255), (255, 255, 0)


def _final(stack: RunningStack, spec: dict[str, Any]) -> dict[str, Any]:
    """The job's final view; a quick job that failed is answered at once, as an error envelope."""
    with stack.client() as client:
        response = client.post("/api/v1/videocreate", json=spec)
        body = response.json()
        if response.status_code == 400:
            error = body["error"]
            assert error["details"].get("job_id"), body  # refused by a stage, not at the door
            return {"status": "failed", "error": error["code"], "message": error["message"]}
        assert response.status_code in (200, 202), response.text
        return (
            body if body["status"] in ("completed", "failed") else wait_for_terminal(client, body["job_id"])
        )


def _white_rows(path: Path, t: float, x: int) -> list[int]:
    return [y for y in range(120, 240, 2) if near(pixel(path, t, x, y), WHITE, 60)]


def test_an_srt_from_s3_is_burned_in_over_a_video(
    stack: RunningStack, media_server: MediaServer, tmp_path: Path
) -> None:
    stack.s3().put_object(Bucket=stack.bucket, Key="captions/talk.srt", Body=SRT.encode())  # type: ignore[attr-defined]
    spec = {
        "width": 320,
        "height": 240,
        "fps": 25,
        "elements": [
            {"type": "video", "source": media_server.url("blue.mp4")},
            {
                "type": "subtitles",
                "source": "s3://videogen/captions/talk.srt",
                "font_size": 24,
                "stroke": None,
            },
            {
                "type": "shape",
                "shape": "ellipse",
                "fill_color": "#ffff00",
                "x": 10,
                "y": 10,
                "width": 40,
                "height": 40,
            },
        ],
    }
    final = _final(stack, spec)
    assert final["status"] == "completed", final
    path = download(final["result_url"], tmp_path / "captions.mp4")
    assert probe_output(path).duration == pytest.approx(3.0, abs=0.05)
    # the first cue's text, drawn as written, across the bottom; nothing before it or between the cues
    row = [
        x for x in range(0, 320, 2) if any(near(pixel(path, 1.0, x, y), WHITE, 60) for y in (205, 210, 215))
    ]
    assert row and 320 - row[-1] > 20 and row[0] > 20, row
    assert not _white_rows(path, 0.2, 160) and not _white_rows(path, 1.8, 160)
    assert _white_rows(path, 2.4, 160) and not _white_rows(path, 2.9, 160)
    assert near(pixel(path, 1.0, 30, 30), YELLOW) and near(pixel(path, 1.0, 12, 12), BLUE)  # ellipse corner


def test_a_malformed_srt_fails_naming_its_line(stack: RunningStack, media_server: MediaServer) -> None:
    (media_server.root / "broken.srt").write_text(
        "1\n00:00:00,500 --> 00:00:01,500\nOne\n\n2\n00:00:02 --> 3\nTwo\n"
    )
    spec = {
        "width": 320,
        "height": 240,
        "duration": 1,
        "elements": [{"type": "subtitles", "source": media_server.url("broken.srt")}],
    }
    final = _final(stack, spec)
    assert final["status"] == "failed" and final["error"] == "INVALID_INPUT", final
    assert "line 6" in final["message"] and "elements[0]" in final["message"], final["message"]
