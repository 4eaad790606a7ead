"""Templates through the real stack: saved, listed, rendered twice with other values (each
render's pixels show its picture and its text), updated, deleted; a missing value and hostile
values; and the store's durability: a template saved through one API instance is there on
another, and after that instance restarts, for its tenant only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.e2e.api_instance import extra_api
from tests.e2e.conftest import MediaServer, RunningStack
from tests.e2e.test_pipeline import download, wait_for_terminal
from tests.media import frame_at, make_color_image, near, probe_output

pytestmark = pytest.mark.e2e

W, H = 320, 240
PHOTO_BOX = (20, 60, 120, 120)  # x, y, w, h: the picture, left
TEXT_BOX = (160, 60, 150, 120)  # the name, right


def _template(background: str = "#000000") -> dict[str, Any]:
    x, y, w, h = PHOTO_BOX
    tx, ty, tw, th = TEXT_BOX
    return {
        "name": "badge",
        "spec": {
            "width": W,
            "height": H,
            "duration": 1,
            "background_color": "{{background}}",
            "elements": [
                {
                    "id": "photo",
                    "type": "image",
                    "source": "{{photo}}",
                    "x": x,
                    "y": y,
                    "width": w,
                    "height": h,
                },
                {
                    "id": "name",
                    "type": "text",
                    "text": "{{name}}",
                    "x": tx,
                    "y": ty,
                    "width": tw,
                    "height": th,
                    "font_size": 40,
                    "color": "#ffffff",
                },
            ],
        },
        "defaults": {"background": background},
    }


def _render(client: httpx.Client, body: dict[str, Any], tmp_path: Path, name: str) -> Path:
    response = client.post("/api/v1/videocreate", json=body)
    assert response.status_code in (200, 202), response.text
    final = wait_for_terminal(client, response.json()["job_id"])
    assert final["status"] == "completed", final
    return download(final["result_url"], tmp_path / f"{name}.mp4")


def _inside(frame: np.ndarray[Any, Any], box: tuple[int, int, int, int]) -> np.ndarray[Any, Any]:
    x, y, w, h = box
    return frame[y + 10 : y + h - 10, x + 10 : x + w - 10]


def _white(region: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.asarray(np.all(region >= 200, axis=-1))


def test_save_list_render_twice_update_delete(
    stack: RunningStack, media_server: MediaServer, tmp_path: Path
) -> None:
    make_color_image(media_server.root / "blue.png", color="blue", size=(200, 200))
    with stack.client() as client:
        saved = client.post("/api/v1/templates", json=_template())
        assert saved.status_code == 201, saved.text
        template_id = saved.json()["template_id"]
        assert saved.json()["placeholders"] == ["background", "photo", "name"]
        listed = client.get("/api/v1/templates").json()["templates"]
        assert template_id in [t["template_id"] for t in listed]

        first = _render(
            client,
            {"template_id": template_id, "merge": {"photo": media_server.url("red.png"), "name": "Ada"}},
            tmp_path,
            "ada",
        )
        updated = client.put(f"/api/v1/templates/{template_id}", json=_template(background="#00ff00"))
        assert updated.status_code == 200, updated.text
        second = _render(
            client,
            {
                "template_id": template_id,
                "merge": {"photo": media_server.url("blue.png"), "name": "Grace Hopper"},
                "modifications": {"name.font_size": 28},
            },
            tmp_path,
            "grace",
        )

        assert client.delete(f"/api/v1/templates/{template_id}").status_code == 204
        assert client.get(f"/api/v1/templates/{template_id}").status_code == 404
        gone = client.post("/api/v1/videocreate", json={"template_id": template_id, "merge": {"name": "x"}})
        assert gone.status_code == 404

    for path in (first, second):
        probed = probe_output(path)
        assert (probed.width, probed.height, probed.video_codec) == (W, H, "h264")
        assert abs(probed.duration - 1.0) < 0.1
    ada, grace = frame_at(first, 0.5), frame_at(second, 0.5)
    assert near(tuple(_inside(ada, PHOTO_BOX).mean(axis=(0, 1)).astype(int)), (255, 0, 0))
    assert near(tuple(_inside(grace, PHOTO_BOX).mean(axis=(0, 1)).astype(int)), (0, 0, 255))
    assert near(tuple(int(c) for c in ada[5, 5]), (0, 0, 0)), "the first render had the first default"
    assert near(tuple(int(c) for c in grace[5, 5]), (0, 255, 0)), "the update's default is used"
    ada_text, grace_text = _white(_inside(ada, TEXT_BOX)), _white(_inside(grace, TEXT_BOX))
    assert ada_text.sum() > 50 and grace_text.sum() > 50, "each render shows its name"
    assert (ada_text != grace_text).mean() > 0.02, "and the names differ"


def test_missing_and_hostile_values(stack: RunningStack, media_server: MediaServer, tmp_path: Path) -> None:
    template = _template()
    template["spec"]["elements"][1]["x"] = "{{left}}"
    template["defaults"]["left"] = TEXT_BOX[0]
    with stack.client() as client:
        template_id = client.post("/api/v1/templates", json=template).json()["template_id"]
        missing = client.post(
            "/api/v1/videocreate", json={"template_id": template_id, "merge": {"name": "Ada"}}
        )
        assert missing.status_code == 400
        error = missing.json()["error"]
        assert error["code"] == "INVALID_INPUT" and error["details"]["fields"][0]["field"] == "merge.photo"
        assert "{{photo}}" in error["message"]

        filter_syntax = {
            "template_id": template_id,
            "merge": {"photo": "p", "name": "A", "left": "0;drawbox=c=red"},
        }
        refused = client.post("/api/v1/videocreate", json=filter_syntax).json()["error"]
        assert refused["details"]["fields"][0]["field"] == "elements.1.x"
        assert "{{left}}" in refused["details"]["fields"][0]["message"]

        hostile = "{{photo}} {{ it's \"quoted\" '; drawtext=text=pwned:fontsize=99 [v] \\ %{n}"
        body = {"template_id": template_id, "merge": {"photo": media_server.url("red.png"), "name": hostile}}
        rendered = _render(client, body, tmp_path, "hostile")
    frame = frame_at(rendered, 0.5)
    assert near(tuple(_inside(frame, PHOTO_BOX).mean(axis=(0, 1)).astype(int)), (255, 0, 0))
    assert _white(_inside(frame, TEXT_BOX)).sum() > 50, "the hostile text is drawn as text"


def test_templates_are_on_every_instance_and_survive_a_restart(
    stack: RunningStack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    keys = {"API_KEYS": "alpha:key-a,beta:key-b"}
    alpha, beta = {"X-API-Key": "key-a"}, {"X-API-Key": "key-b"}
    with extra_api(stack, tmp_path_factory.mktemp("templates-api"), **keys) as first:
        saved = httpx.post(f"{first}/api/v1/templates", json=_template(), headers=alpha, timeout=30)
        assert saved.status_code == 201, saved.text
        template_id = saved.json()["template_id"]
    with stack.client() as client:
        assert client.get(f"/api/v1/templates/{template_id}").json() == saved.json(), "on another instance"
    with extra_api(stack, tmp_path_factory.mktemp("templates-api-again"), **keys) as again:
        shown = httpx.get(f"{again}/api/v1/templates/{template_id}", headers=alpha, timeout=30)
        assert shown.status_code == 200 and shown.json() == saved.json(), "after a restart"
        assert (
            httpx.get(f"{again}/api/v1/templates/{template_id}", headers=beta, timeout=30).status_code == 404
        )
        listed = httpx.get(f"{again}/api/v1/templates", headers=beta, timeout=30).json()
        assert template_id not in [t["template_id"] for t in listed["templates"]]
