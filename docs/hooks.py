"""MkDocs hook: links that read well on GitHub (to READMEs outside docs/) point into the site."""

from __future__ import annotations

from typing import Any

# A README outside docs/ -> its page in the site (generated from it by `videogen docs`).
SITE_PAGES = {
    "../deploy/README.md": "reference/deploy.md",
    "../analytics/README.md": "reference/analytics.md",
}


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    depth = page.file.src_uri.count("/")
    for outside, inside in SITE_PAGES.items():
        markdown = markdown.replace(f"]({outside})", f"]({'../' * depth}{inside})")
    return markdown
