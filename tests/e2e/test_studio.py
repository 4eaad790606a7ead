"""The studio in a real browser (the system's Chromium driven by Playwright) against the real
stack: a quick render plays and lands in the history, a validation error names its fields, a long
job on a keyed instance is followed over its WebSocket and cancelled, and a phone-sized screen
shows the render button without horizontal scrolling, reached with the keyboard. No console
errors beyond the HTTP errors a step provokes on purpose. Without Chromium the tests skip, saying
how to install it, except in CI (which installs it)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.api_instance import extra_api
from tests.e2e.browser import console_errors, http_error
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

KEY = "studio-key-1"
RENDER_TIMEOUT_MS = 120_000
BAD_SPEC = {"output_format": "avi", "elements": [{"type": "text"}]}


def test_quick_render_plays_and_is_in_the_history(stack: RunningStack, browser: Browser) -> None:
    page = browser.new_page()
    errors = console_errors(page)
    page.goto(f"{stack.api}/")
    expect(page).to_have_url(f"{stack.api}/studio")
    expect(page.locator("#spec")).to_have_value(re.compile(r"s3://videogen/samples/clip\.mp4"))

    page.fill("#spec", json.dumps(BAD_SPEC))
    page.click("#render")
    expect(page.locator("#error-message")).to_contain_text("INVALID_INPUT")
    fields = page.locator("#error-fields li")
    expect(fields).to_have_text([re.compile("^output_format "), re.compile(r"^elements\.0\.text ")])

    page.select_option("#example", index=1)
    page.select_option("#example", index=0)  # the default example, back in the editor
    expect(page.locator("#errors")).to_be_hidden()
    page.click("#render")
    expect(page.locator("#watch")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    assert page.locator("#watch").get_attribute("data-path") == "quick"  # a 200, shown at once
    expect(page.locator("#watch-size")).to_have_text(re.compile(r"\d"))
    expect(page.locator("#watch-duration")).to_have_text(re.compile(r"^6(\.0)? seconds$"))
    job_id = page.locator("#watch-job").inner_text()
    result_url = page.locator("#media video").get_attribute("src")
    assert result_url and page.locator("#download").get_attribute("href") == result_url

    played = page.evaluate(
        """async () => {
            const video = document.querySelector("#media video");
            video.muted = true;  // autoplay policy: a muted video may play without a gesture
            await video.play();
            await new Promise((resolve) => setTimeout(resolve, 1500));
            return video.currentTime;
        }"""
    )
    assert played > 0.5, played
    row = page.locator(f'#history-rows tr[data-job-id="{job_id}"]')
    expect(row).to_contain_text("completed")

    page.select_option("#history-status", "failed")
    expect(row).to_have_count(0)
    page.select_option("#history-status", "completed")
    expect(row).to_have_count(1)
    # The bad spec's 400s (the render's, and the canvas's preview and layout of it), nothing else.
    assert [error for error in errors if http_error(400) not in error] == [], errors
    assert errors, "the bad spec's render was not refused"
    page.close()


def test_long_job_is_followed_and_cancelled_with_a_key(
    stack: RunningStack, browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data_dir = tmp_path_factory.mktemp("studio-api")
    with extra_api(
        stack, data_dir, API_KEYS=f"studio:{KEY}", QUICK_RESPONSE_THRESHOLD_SECONDS="0"
    ) as api:  # every POST answers 202: the page follows the job
        page = browser.new_page()
        errors = console_errors(page)
        page.goto(f"{api}/studio")
        expect(page.locator("#history-note")).to_contain_text("Enter your API key")
        page.fill("#api-key", KEY)
        page.press("#api-key", "Tab")
        expect(page.locator("#history-note")).not_to_contain_text("UNAUTHORIZED")
        assert page.evaluate("localStorage.getItem('videogen.apiKey')") == KEY

        page.select_option("#example", label="One minute at 720p (a long job to follow)")
        page.click("#render")
        expect(page.locator("#track")).to_be_visible()
        expect(page.locator("#track-status")).to_have_text("processing", timeout=RENDER_TIMEOUT_MS)
        expect(page.locator("#track-step")).not_to_have_text("")
        expect(page.locator("#track-estimate")).to_contain_text("estimate")
        job_id = page.locator("#track-job").inner_text()
        page.click("#cancel")
        expect(page.locator("#track-status")).to_have_text("cancelled")
        expect(page.locator("#cancel")).to_be_disabled()
        expect(page.locator("#watch")).to_be_hidden()
        expect(page.locator(f'#history-rows tr[data-job-id="{job_id}"]')).to_contain_text("cancelled")
        # Only what the page asked before the key was typed (the history, the canvas's preview and
        # layout) was refused; the canvas asks again with the key and shows the frame.
        expect(page.locator(".cv-frame")).to_have_attribute("data-state", "ready")
        unauthorized = f"Failed to load resource: {http_error(401)} (Unauthorized)"
        assert errors and set(errors) == {unauthorized}, errors
        page.close()


def test_phone_screen_shows_the_render_button_and_the_keyboard_reaches_it(
    stack: RunningStack, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    errors = console_errors(page)
    page.goto(f"{stack.api}/studio")
    expect(page.locator("#spec")).not_to_have_value("")
    render = page.locator("#render")
    render.scroll_into_view_if_needed()
    expect(render).to_be_in_viewport()
    box = render.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.fill("#spec", "{not json")
    page.focus("#example")
    page.keyboard.press("Tab")  # to the render button: undo and redo are disabled on a fresh page
    expect(render).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#error-message")).to_contain_text("not JSON")  # refused before any request
    assert errors == [], errors
    page.close()
