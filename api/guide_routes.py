"""`/guide`: the documentation site (`make docs` builds it into site/), served as static files.
Public and out of the OpenAPI document, like the studio. Where the site was never built (an
installed package, a fresh clone), a 404 says how to build it rather than "no such file"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.exceptions import NotFoundException
from litestar.static_files import create_static_files_router

from api.errors import envelope
from schemas.errors import ErrorCode
from schemas.responses import ErrorEnvelope

SITE_DIR = Path(__file__).resolve().parents[1] / "site"


def guide_files(site: Path = SITE_DIR) -> Router:
    """The site's router; it serves whatever is in `site` at request time (a rebuild needs no restart)."""

    def on_not_found(_: Request[Any, Any, Any], exc: NotFoundException) -> Response[ErrorEnvelope]:
        message = str(exc.detail)
        if not (site / "index.html").is_file():
            message = f"the documentation site is not built: run `make docs` (it builds into {site})"
        return Response(envelope(ErrorCode.NOT_FOUND, message), status_code=404)

    return create_static_files_router(
        "/guide",
        [site],
        html_mode=True,
        include_in_schema=False,
        name="guide",
        exception_handlers={NotFoundException: on_not_found},
    )
