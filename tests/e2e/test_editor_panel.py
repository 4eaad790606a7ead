"""The studio's property panel, media shelf and templates in a real browser against the real stack,
used as a person would: the selected element's form is generated from the API's JSON Schema (a
colour picker for a colour, a font picker, an easing menu), a change there is in the spec and undo
takes it back, the API's message for a bad value shows at the field, a PNG uploaded through the
shelf becomes an image element, a text marked as a template placeholder is saved and rendered with
a sample value, and every element type of the schema gets a form with a field per property."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import console_errors, http_error, screenshot, settled
from tests.e2e.conftest import RunningStack
from tests.media import make_color_image, near, pixel

pytestmark = pytest.mark.e2e

RENDER_TIMEOUT_S = 120.0
STORE = "window.videogenStudio.store"
MAGENTA = (255, 0, 255)
TITLE_CARD = "Title card: text on a colour"  # an example with a color and a text element


def _open(page: Page, stack: RunningStack, example: str = TITLE_CARD) -> None:
    page.goto(f"{stack.api}/studio")
    expect(page.locator("#panel-form .pf-field").first).to_be_visible()
    page.select_option("#example", label=example)


def _spec(page: Page) -> dict[str, Any]:
    return json.loads(page.locator("#spec").input_value())


def _field(page: Page, path: str) -> Any:
    return page.locator(f'#panel-form [data-field="{path}"]')


def _api_message(stack: RunningStack, spec: dict[str, Any], field: str) -> str:
    """What the API says about `field` of `spec`, to compare with what the page shows."""
    with stack.client() as client:
        answer = client.post("/api/v1/videocreate", json=spec)
    assert answer.status_code == 400, answer.text
    return next(f["message"] for f in answer.json()["error"]["details"]["fields"] if f["field"] == field)


def _unexpected(errors: list[str]) -> list[str]:
    """Console errors other than the HTTP errors the steps provoke on purpose (400s)."""
    return [e for e in errors if http_error(400) not in e]


def test_the_selected_elements_form_edits_the_spec_and_undo_restores_it(
    stack: RunningStack, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    errors = console_errors(page)
    _open(page, stack)
    expect(_field(page, "output_format").locator("select")).to_have_value("mp4")  # nothing selected
    page.evaluate(f"{STORE}.select(['elements', 1])")
    expect(page.locator("#panel-head .pf-title strong")).to_have_text("text")

    color = _field(page, "elements.1.color")
    expect(color.locator('input[type="color"]')).to_have_value("#ffffff")
    expect(color.locator('input[type="text"]')).to_have_value("#ffffff")
    font = _field(page, "elements.1.font_family").locator("input")
    expect(font).to_have_attribute("list", "pf-fonts")
    screenshot(page, "studio-panel.png")

    size = _field(page, "elements.1.font_size").locator("input")
    size.fill("72")
    size.press("Tab")
    assert _spec(page)["elements"][1]["font_size"] == 72
    page.click("#undo")
    assert _spec(page)["elements"][1]["font_size"] == 64
    expect(_field(page, "elements.1.font_size").locator("input")).to_have_value("64")

    _field(page, "elements.1.animations").locator("summary").click()
    page.get_by_role("button", name="+ animations").click()
    easing = _field(page, "elements.1.animations.0.easing").locator("select")
    options = easing.locator("option").evaluate_all("options => options.map(o => o.value)")
    assert {"ease-out-back", "linear", "custom"} <= set(options)
    easing.select_option("ease-out-back")
    assert _spec(page)["elements"][1]["animations"] == [{"type": "fade", "easing": "ease-out-back"}]

    _field(page, "elements.1.opacity").get_by_label("keyframes").check()
    page.get_by_role("button", name="+ keyframe").click()
    _field(page, "elements.1.opacity.1.value").locator("input").fill("0.25")
    assert _spec(page)["elements"][1]["opacity"] == [{"time": 0, "value": 1}, {"time": 1, "value": 0.25}]

    head = page.locator("#panel-head")
    head.get_by_role("button", name="Forward").click()
    assert _spec(page)["elements"][1]["track"] == 2
    head.get_by_role("button", name="Duplicate").click()
    assert len(_spec(page)["elements"]) == 3 and page.evaluate(f"{STORE}.selection") == ["elements", 2]
    head.get_by_role("button", name="Delete").click()
    assert len(_spec(page)["elements"]) == 2 and page.evaluate(f"{STORE}.selection") is None
    page.click("#undo")
    assert len(_spec(page)["elements"]) == 3
    assert _unexpected(errors) == [], errors
    families = page.locator("#pf-fonts option")
    expect(families.first).to_be_attached()
    assert "Roboto" in families.evaluate_all("options => options.map(o => o.value)")
    page.close()


def test_an_invalid_value_shows_the_apis_message_at_its_field(stack: RunningStack, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    errors = console_errors(page)
    _open(page, stack)
    width = _field(page, "width")
    width.locator('input[type="number"]').fill("641")
    page.click("#render")
    expected = _api_message(stack, _spec(page), "width")
    expect(width.locator(".pf-error")).to_have_text(expected)

    page.evaluate(f"{STORE}.select(['elements', 0])")
    color = _field(page, "elements.0.color")
    color.locator('input[type="text"]').fill("#12345")
    page.click("#render")
    expected = _api_message(stack, _spec(page), "elements.0.color")
    expect(color.locator(".pf-error")).to_have_text(expected)
    expect(page.locator("#panel-other-errors")).to_contain_text("width")  # not this element's: listed above

    color.locator('input[type="text"]').fill("#123456")
    page.evaluate(f"{STORE}.select(null)")
    _field(page, "width").locator('input[type="number"]').fill("640")
    page.click("#render")
    expect(page.locator("#watch")).to_be_visible(timeout=RENDER_TIMEOUT_S * 1000)
    expect(page.locator("#panel .pf-error:not([hidden])")).to_have_count(0)  # cleared by the good answer
    assert _unexpected(errors) == [], errors
    page.close()


def test_a_png_uploaded_through_the_shelf_becomes_an_image_element(
    stack: RunningStack, browser: Browser, tmp_path: Path
) -> None:
    png = make_color_image(tmp_path / "panel-magenta.png", color="magenta", size=(64, 64))
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    errors = console_errors(page)
    _open(page, stack)
    page.set_input_files("#shelf-file", str(png))
    expect(page.locator("#shelf-note")).to_contain_text("uploaded", timeout=30_000)
    item = page.locator('#shelf-items .shelf-item.shelf-chosen[data-kind="image"]')
    expect(item).to_contain_text("panel-magenta")
    source = item.get_attribute("data-source")
    assert source and source.startswith("s3://"), source
    expect(item.locator("img")).to_have_js_property("complete", True)

    page.evaluate(f"{STORE}.seek(1.5)")
    item.get_by_role("button", name="Add").click()
    added = _spec(page)["elements"][-1]
    assert added["type"] == "image" and added["source"] == source and added["time"] == 1.5, added
    assert added["track"] > max(e.get("track", 1) for e in _spec(page)["elements"][:-1])
    assert page.evaluate(f"{STORE}.selection") == ["elements", 2]

    _field(page, "elements.2.source").get_by_role("button", name="Choose…").click()
    expect(page.locator("#shelf-choosing")).to_contain_text("elements.2.source")
    page.locator('#shelf-items .shelf-item[data-kind="image"]', has_text="logo.png").get_by_role(
        "button", name="Choose"
    ).click()
    assert _spec(page)["elements"][2]["source"] == "s3://videogen/samples/logo.png"
    expect(_field(page, "elements.2.source").locator("input")).to_have_value("s3://videogen/samples/logo.png")
    page.click("#undo")  # back to the upload
    assert _spec(page)["elements"][2]["source"] == source

    _drop(page, "#stage", png)  # a file dropped on the canvas is uploaded and placed at once
    expect(page.locator("#spec")).to_have_value(re.compile(r"(panel-magenta[\s\S]*){2}"), timeout=30_000)
    dropped = _spec(page)["elements"][-1]
    assert dropped["type"] == "image" and dropped["source"] != source, dropped
    assert page.evaluate(f"{STORE}.selection") == ["elements", 3]

    # The engine's picture of the edited spec at the playhead: the upload centred, on top, magenta.
    with stack.client() as client:
        frame = client.post("/api/v1/preview/frame", json={"spec": _spec(page), "time": 1.5, "format": "png"})
    assert frame.status_code == 200, frame.text
    (tmp_path / "frame.png").write_bytes(frame.content)
    assert near(pixel(tmp_path / "frame.png", 0, 320, 180), MAGENTA)
    if page.locator("#canvas img").count():  # the canvas shows that frame (once the editor's canvas draws)
        assert near(_canvas_centre(page), MAGENTA)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f'#shelf-items .shelf-item[data-source="{source}"]').get_by_role("button", name="✕").click()
    expect(page.locator(f'#shelf-items .shelf-item[data-source="{source}"]')).to_have_count(0)
    assert _unexpected(errors) == [], errors
    page.close()


def _canvas_centre(page: Page) -> tuple[int, int, int]:
    """The colour at the middle of the canvas's preview frame (the engine's picture)."""
    frame = page.locator("#canvas img").first
    expect(frame).to_have_js_property("complete", True, timeout=30_000)
    rgb = frame.evaluate(
        """async (img) => {
            await img.decode();
            const canvas = document.createElement("canvas");
            canvas.width = img.naturalWidth;
            canvas.height = img.naturalHeight;
            const context = canvas.getContext("2d");
            context.drawImage(img, 0, 0);
            const [r, g, b] = context.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data;
            return [r, g, b];
        }"""
    )
    return (int(rgb[0]), int(rgb[1]), int(rgb[2]))


def _drop(page: Page, target: str, path: Path) -> None:
    """Drop a file on `target` as the browser does when a file is dragged from the desktop."""
    page.evaluate(
        """([target, name, data]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/png" }));
            const node = document.querySelector(target);
            const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
            node.dispatchEvent(new DragEvent("dragover", init));
            node.dispatchEvent(new DragEvent("drop", init));
        }""",
        [target, path.name, base64.b64encode(path.read_bytes()).decode()],
    )


def _wait_completed(stack: RunningStack, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    with stack.client() as client:
        while True:
            job = client.get(f"/api/v1/videoresult/{job_id}").json()
            if job["status"] in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
                return dict(job)
            time.sleep(0.5)


def test_a_text_marked_as_a_placeholder_is_saved_and_rendered_with_a_value(
    stack: RunningStack, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    errors = console_errors(page)
    _open(page, stack)
    page.evaluate(f"{STORE}.select(['elements', 1])")
    page.once("dialog", lambda dialog: dialog.accept("headline"))
    _field(page, "elements.1.text").get_by_role("button", name="{{ }}").click()
    assert _spec(page)["elements"][1]["text"] == "{{headline}}"
    sample = page.locator("#tpl-value-headline")
    expect(sample).to_have_value("Hello")  # the value it had, kept as the sample
    sample.fill("Hello, panel")
    assert page.evaluate(f"{STORE}.merge") == {"headline": "Hello, panel"}

    name = f"Panel card {time.time_ns()}"
    page.fill("#tpl-name", name)
    page.click("#tpl-save")
    expect(page.locator("#tpl-note")).to_contain_text("Saved")
    listed = page.locator("#tpl-list li", has_text=name)
    expect(listed).to_have_count(1)
    template_id = listed.get_attribute("data-template-id")
    with stack.client() as client:
        saved = client.get(f"/api/v1/templates/{template_id}").json()
    assert saved["defaults"] == {"headline": "Hello, panel"} and saved["placeholders"] == ["headline"]

    page.click("#tpl-render")
    job = page.locator("#tpl-job")
    expect(job).not_to_have_text("", timeout=30_000)
    done = _wait_completed(stack, job.inner_text())
    assert done["status"] == "completed", done

    page.select_option("#example", index=0)  # away, then back through the list
    page.fill("#tpl-name", "")
    listed.get_by_role("button").click()
    expect(page.locator("#tpl-name")).to_have_value(name)
    assert _spec(page)["elements"][1]["text"] == "{{headline}}"
    assert page.evaluate(f"{STORE}.templateId") == template_id

    page.evaluate(f"{STORE}.select(['elements', 1])")  # unmark: the sample value is the text again
    _field(page, "elements.1.text").get_by_role("button", name="{{ }}").click()
    assert _spec(page)["elements"][1]["text"] == "Hello, panel"
    assert page.evaluate(f"{STORE}.merge") == {}  # previews send no value for a placeholder gone
    page.click("#undo")
    assert page.evaluate(f"{STORE}.merge") == {"headline": "Hello, panel"}
    assert _unexpected(errors) == [], errors
    page.close()


def test_every_element_type_of_the_schema_gets_a_field_per_property(
    stack: RunningStack, browser: Browser
) -> None:
    document = httpx.get(f"{stack.api}/openapi.json").json()
    schemas = document["components"]["schemas"]
    union = schemas["VideoCreateRequest"]["properties"]["elements"]["items"]["oneOf"]
    variants = {schemas[ref["$ref"].split("/")[-1]]["properties"]["type"]["const"]: ref for ref in union}
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    errors = console_errors(page)
    _open(page, stack)
    menu = page.locator("#panel-add option").evaluate_all(
        "options => options.map(o => o.value).filter(Boolean)"
    )
    assert menu == list(variants), menu
    for kind, ref in variants.items():
        count = len(_spec(page)["elements"])
        page.select_option("#panel-add", kind)
        expect(page.locator("#panel-head .pf-title strong")).to_have_text(kind)
        index = len(_spec(page)["elements"]) - 1
        assert index == count and _spec(page)["elements"][index]["type"] == kind
        properties = set(schemas[ref["$ref"].split("/")[-1]]["properties"]) - {"type"}
        shown = set(_rows(page))
        assert shown == properties, (kind, properties ^ shown)
        page.evaluate(f"{STORE}.select(['elements', {index}])")  # and once more through the store
        expect(_field(page, f"elements.{index}.track")).to_be_visible()
        settled(page)  # the canvas has drawn it: the next is added as a person would, after a look
    page.evaluate(f"{STORE}.select(null)")  # the output settings: every top-level field but the elements
    expect(page.locator("#panel-head .pf-title strong")).to_have_text("Output settings")
    assert set(_rows(page)) == set(schemas["VideoCreateRequest"]["properties"]) - {"elements"}
    assert errors == [], errors  # every new element is valid, and no preview was refused as too many
    page.close()


def _rows(page: Page) -> list[str]:
    """The property named by each row of the panel's form."""
    rows = page.locator("#panel-form > .pf-field")
    return list(rows.evaluate_all("rows => rows.map(row => row.dataset.field.split('.').pop())"))
