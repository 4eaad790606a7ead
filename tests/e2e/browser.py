"""The browser the studio's tests drive (the system Chromium through Playwright: browsers cannot be
downloaded here) and what they read from its pages."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

SCREENSHOTS = os.environ.get("VIDEOGEN_STUDIO_SCREENSHOTS")


def launched_browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        why = (
            "the studio test needs the system Chromium (browsers cannot be downloaded here): "
            "apt-get install -y chromium  (.ci/run installs it)"
        )
        if os.environ.get("CI"):
            pytest.fail(why)  # CI installs it: its absence there is a broken CI, not a choice
        pytest.skip(why)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        try:
            yield launched
        finally:
            launched.close()


def console_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of `page`, as they happen."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    return errors


def http_error(status: int) -> str:
    """What Chromium logs for a fetch answered `status` (the page cannot keep it quiet)."""
    return f"the server responded with a status of {status}"


def settled(page: Page) -> None:
    """Wait until the engine's layout and preview frame are those of the spec at the playhead."""
    page.wait_for_function(
        """() => {
            const { store, layout } = window.videogenStudio;
            const image = document.querySelector(".cv-image");
            return layout.fresh && layout.current.source === "engine" && layout.current.time === store.time
                && document.querySelector(".cv-frame").dataset.state === "ready"
                && image.dataset.time === String(store.time);
        }"""
    )


def screenshot(page: Page, name: str) -> None:
    """With VIDEOGEN_STUDIO_SCREENSHOTS=docs, the documentation's pictures of the studio are retaken
    as the tests pass, showing what they just did."""
    if SCREENSHOTS:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(Path(SCREENSHOTS) / name))
