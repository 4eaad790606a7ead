"""The studio: a static page (HTML, JS, CSS shipped inside the package) to write, render, watch
and find videos. Public and left out of the OpenAPI document: the page holds no data, and the API
calls it makes carry the user's key like any other client's."""

from __future__ import annotations

from pathlib import Path

from litestar import get
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

STUDIO_DIR = Path(__file__).parent / "studio"


@get("/", include_in_schema=False)
async def root_redirect() -> Redirect:
    """The root URL answered 404; a visitor is better served by the studio."""
    return Redirect("/studio")


studio_files = create_static_files_router(
    "/studio", [STUDIO_DIR], html_mode=True, include_in_schema=False, name="studio"
)
