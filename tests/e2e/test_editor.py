"""The studio's editor in a real browser against the real stack, used as a person would: a clip
dragged 2 s later on the timeline, the element dragged and resized on the canvas, a keyframe added
and the element dragged again at another time, undo and redo, playback of the engine's preview
clip, then the Render button. The final
video's pixels where the element went, at the times it was moved, match the engine's preview
frames, and the element is no longer where it started: what the editor shows is what renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import numpy.typing as npt
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import console_errors, screenshot, settled
from tests.e2e.conftest import RunningStack
from tests.e2e.test_pipeline import download
from tests.media import frame_at

pytestmark = pytest.mark.e2e

EXAMPLE = "Editing: a box, a moving logo and a title"
STORE = "window.videogenStudio.store"
BOX = 1  # the example's red rectangle: x "10%", y "20%", 120x90 px, 0-2 s, on a 640x360 output
WIDTH, HEIGHT = 640, 360
RED = (220, 38, 38)
TOLERANCE = 40  # H.264 and JPEG against PNG: chroma subsampling at the edges, not in a box's middle
RENDER_TIMEOUT_MS = 120_000


def _box(page: Page) -> dict[str, Any]:
    spec: dict[str, Any] = page.evaluate(f"{STORE}.spec")
    return dict(spec["elements"][BOX])


def _drag(page: Page, x: float, y: float, dx: float, dy: float) -> None:
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=8)
    page.mouse.up()


def _seek(page: Page, seconds: float, pps: float) -> None:
    """Click the timeline's ruler at `seconds`."""
    ruler = page.locator(".tl-ruler").bounding_box()
    assert ruler is not None
    page.mouse.click(ruler["x"] + seconds * pps + 0.5, ruler["y"] + ruler["height"] / 2)
    assert page.evaluate(f"{STORE}.time") == pytest.approx(seconds)


def _percent(value: object) -> float:
    assert isinstance(value, str) and value.endswith("%"), value
    return float(value[:-1])


def _preview(client: httpx.Client, spec: dict[str, Any], time: float, dest: Path) -> npt.NDArray[np.uint8]:
    """The engine's preview frame at `time`, full size, as PNG through the API."""
    answer = client.post(
        "/api/v1/preview/frame", json={"spec": spec, "time": time, "width": WIDTH, "format": "png"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    dest.write_bytes(answer.content)
    with av.open(str(dest)) as container:
        frame = next(container.decode(video=0))
        return np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def _layout_box(client: httpx.Client, spec: dict[str, Any], time: float) -> dict[str, float]:
    answer = client.post("/api/v1/preview/layout", json={"spec": spec, "time": time})
    assert answer.status_code == 200, answer.text
    (item,) = [item for item in answer.json()["elements"] if item["path"] == f"elements.{BOX}"]
    assert item["visible"], item
    return dict(item["box"])


def _patch(image: npt.NDArray[np.uint8], x: float, y: float) -> tuple[int, int, int]:
    """The mean colour of a 9x9 patch centred on (x, y)."""
    cx, cy = round(x), round(y)
    mean = image[cy - 4 : cy + 5, cx - 4 : cx + 5].reshape(-1, 3).mean(axis=0)
    return int(mean[0]), int(mean[1]), int(mean[2])


def _close(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(p - q) <= TOLERANCE for p, q in zip(a, b, strict=True))


def test_edit_on_the_timeline_and_canvas_then_render_what_the_preview_shows(
    stack: RunningStack, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    errors = console_errors(page)
    page.goto(f"{stack.api}/studio")
    page.select_option("#example", label=EXAMPLE)
    settled(page)
    first_frame = page.locator(".cv-image").get_attribute("data-etag")

    # The timeline: drag the box's block 2 s later.
    block = page.locator(f'.tl-block[data-path="elements.{BOX}"]')
    expect(block).to_have_attribute("aria-label", "shape 'box' 0.0\u20132.0 s track 2")
    where = block.bounding_box()
    assert where is not None
    pps = where["width"] / 2  # the block lasts 2 s
    _drag(page, where["x"] + where["width"] / 2, where["y"] + where["height"] / 2, 2 * pps, 0)
    assert _box(page)["time"] == 2
    expect(block).to_have_attribute("aria-label", "shape 'box' 2.0\u20134.0 s track 2")
    settled(page)
    assert page.locator(".cv-image").get_attribute("data-etag") != first_frame  # the box left frame 0

    # The canvas at 3 s: drag the box 64 px right and 36 px down, then resize it from a corner.
    _seek(page, 3.0, pps)
    settled(page)
    stage = page.locator(".cv-frame").bounding_box()
    assert stage is not None
    k = stage["width"] / WIDTH  # CSS px per output px
    _drag(page, stage["x"] + (64 + 60) * k, stage["y"] + (72 + 45) * k, 64 * k, 36 * k)
    moved = _box(page)
    assert page.evaluate(f"{STORE}.selection") == ["elements", BOX]
    assert _percent(moved["x"]) == pytest.approx(20, abs=0.2)  # still percent, as the example wrote it
    assert _percent(moved["y"]) == pytest.approx(30, abs=0.2)
    settled(page)
    corner = page.locator(".cv-handle-se").bounding_box()
    assert corner is not None
    _drag(page, corner["x"] + corner["width"] / 2, corner["y"] + corner["height"] / 2, 40 * k, 30 * k)
    resized = _box(page)
    assert resized["width"] == pytest.approx(160, abs=1) and resized["height"] == pytest.approx(120, abs=1)
    assert (resized["x"], resized["y"]) == (moved["x"], moved["y"])  # the top-left corner stayed

    # A keyframe at 3 s (1 s into the box), then a drag at 3.6 s keys the position there.
    settled(page)
    page.keyboard.press("k")
    page.wait_for_function(f"Array.isArray({STORE}.spec.elements[{BOX}].x)")
    keyed = _box(page)
    assert [key["time"] for key in keyed["x"]] == [1] and keyed["x"][0]["value"] == moved["x"]
    _seek(page, 3.6, pps)
    settled(page)
    _drag(page, stage["x"] + (128 + 80) * k, stage["y"] + (108 + 60) * k, -96 * k, 0)
    keyed = _box(page)
    assert [key["time"] for key in keyed["x"]] == pytest.approx([1, 1.6])
    assert _percent(keyed["x"][1]["value"]) == pytest.approx(5, abs=0.2)  # 128 - 96 = 32 px of 640
    assert _percent(keyed["y"][1]["value"]) == pytest.approx(30, abs=0.2)

    # Undo takes the drag back as one step; redo puts it back.
    page.keyboard.press("Control+z")
    assert len(_box(page)["x"]) == 1
    page.keyboard.press("Control+Shift+z")
    assert _box(page) == keyed

    # Playback: Space plays the engine's preview clip over the canvas, the playhead moving with it;
    # Space again puts the still frame back where it stopped.
    page.keyboard.press("Home")
    page.keyboard.press("Space")
    clip = page.locator(".cv-video")
    expect(clip).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    page.wait_for_function(f"{STORE}.time > 0.5", timeout=RENDER_TIMEOUT_MS)
    page.keyboard.press("Space")
    expect(clip).to_be_hidden()
    assert _box(page) == keyed  # playing edits nothing

    # Render, and compare the video with the engine's preview frames where the box went.
    settled(page)
    screenshot(page, "studio.png")
    spec: dict[str, Any] = page.evaluate(f"{STORE}.spec")
    page.click("#render")
    expect(page.locator("#watch")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    result_url = page.locator("#download").get_attribute("href")
    assert result_url
    video = download(result_url, tmp_path / "edited.mp4")
    with stack.client() as client:
        for time in (3.0, 3.32, 3.6):
            box = _layout_box(client, spec, time)
            centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            preview = _preview(client, spec, time, tmp_path / f"preview-{time}.png")
            final = frame_at(video, time)
            assert _close(_patch(preview, *centre), RED), (time, _patch(preview, *centre))
            assert _close(_patch(final, *centre), _patch(preview, *centre)), (time, box)
        start = frame_at(video, 3.0)
        assert not _close(_patch(start, 64 + 20, 72 + 20), RED)  # not where the box started
    assert errors == [], errors
    page.close()
