"""The studio's previews: a frame or a short clip of a spec, rendered by this API process with the
worker's engine (media/preview.py), answered as bytes.

Thin controller: the body's spec is filled and checked as POST /api/v1/videocreate does it (its
errors name the spec's own fields), the service renders, and the answer carries the frame's key as
its ETag (`If-None-Match` with it: 304). Previews are not jobs: they spend no share of the tenant's
RATE_LIMIT_PER_MINUTE (scrubbing sends many), the service's render slots bound them instead.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import asdict
from typing import Annotated, Any, TypeVar

from litestar import Controller, Request, Response, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body

from api.errors import ApiError, EnvelopeOperation
from api.merge import Merged, merge, validated
from api.ratelimit import UNMETERED
from api.routes import GUARD_RESPONSES, TOO_LARGE, error_spec
from media.preview import Preview, PreviewService
from schemas.errors import ErrorCode, JobError
from schemas.preview import (
    PreviewClipRequest,
    PreviewFrameRequest,
    PreviewLayout,
    PreviewLayoutRequest,
    PreviewSource,
)
from schemas.spec import VideoSpec

T = TypeVar("T")
CACHE_CONTROL = "private, max-age=3600"
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
HEADERS = [
    ResponseHeader(
        name="X-Frame-Cache",
        value="hit",
        documentation_only=True,
        description="`hit` when the answer was rendered before (the same pixels), `miss` when rendered now.",
    ),
    ResponseHeader(
        name="ETag",
        value='"<key>"',
        documentation_only=True,
        description="The key of what the answer shows: send it as If-None-Match to get 304 while it holds.",
    ),
    ResponseHeader(name="Cache-Control", value=CACHE_CONTROL, documentation_only=True),
]
ERRORS = {
    304: ResponseSpec(None, generate_examples=False, description="If-None-Match names the answer's ETag."),
    400: error_spec(
        "Invalid body or spec, or a template value missing or not fitting its field (INVALID_INPUT, naming "
        "the field as in the spec: 'elements.0.x'); a source refused (INVALID_INPUT: scheme, size, type)."
    ),
    413: TOO_LARGE,
    422: error_spec(
        "A source could not be downloaded or is refused by the SSRF guard (SOURCE_DOWNLOAD_FAILED)."
    ),
    429: error_spec(
        "The tenant's key is refused by the rate limit, or too many previews are waiting in this process "
        "(RATE_LIMITED, Retry-After)."
    ),
    500: error_spec("The render failed (FFMPEG_ERROR, INTERNAL_ERROR)."),
    504: error_spec("A download or the render timed out (NETWORK_TIMEOUT, PROCESSING_TIMEOUT)."),
    507: error_spec("The API host is out of disk (INSUFFICIENT_STORAGE)."),
}


def previewed_spec(body: PreviewSource, max_text: int) -> VideoSpec:
    """The body's spec filled with its `merge` values and checked as POST /api/v1/videocreate checks a
    template's (a `callback_url` in it, a delivery option, is ignored)."""
    document = {name: value for name, value in body.spec.items() if name != "callback_url"}
    try:
        merged = (
            Merged(document=document)
            if body.merge is None
            else merge(document, body.merge, max_text=max_text)
        )
        return validated(merged)
    except JobError as exc:
        raise ApiError.of(exc) from exc


def etags(header: str | None) -> set[str]:
    """The keys an If-None-Match header names (weak or strong)."""
    if header is None:
        return set()
    return {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",") if tag.strip()}


async def _rendered(making: Awaitable[T]) -> T:
    try:
        return await making
    except JobError as exc:
        retry = exc.details.get("retry_after_seconds") if exc.code is ErrorCode.RATE_LIMITED else None
        headers = {"Retry-After": str(retry)} if retry is not None else None
        raise ApiError(exc.code, exc.message, exc.details, headers) from exc


def _answer(preview: Preview, media_type: str, known: set[str]) -> Response[bytes]:
    headers = {
        "ETag": f'"{preview.key}"',
        "Cache-Control": CACHE_CONTROL,
        "X-Frame-Cache": "hit" if preview.hit else "miss",
    }
    if preview.key in known:
        return Response(b"", status_code=304, headers=headers, media_type=media_type)
    return Response(preview.data, status_code=200, headers=headers, media_type=media_type)


class PreviewController(Controller):
    path = "/api/v1/preview"
    tags = ["preview"]
    opt = {UNMETERED: True}

    @post(
        "/frame",
        operation_class=EnvelopeOperation,
        status_code=200,
        summary="Render one frame of a spec",
        description="The frame the final render shows at `time`, rendered now by the same engine (the "
        "frame grid, the layout and every effect are the render's), scaled to `width`: image/jpeg, or "
        "image/png with `format: png`. Sources are fetched under the same rules as a job's. Rendered "
        "frames are kept by what they show: an edit elsewhere on the timeline finds this one rendered.",
        response_headers=HEADERS,
        responses={
            200: ResponseSpec(
                bytes, generate_examples=False, media_type="image/jpeg", description="The frame."
            ),
            **ERRORS,
            **GUARD_RESPONSES,
        },
    )
    async def frame(
        self,
        data: Annotated[PreviewFrameRequest, Body(title="A spec and the time of the frame")],
        previews: NamedDependency[PreviewService],
        request: Request[Any, Any, Any],
    ) -> Response[bytes]:
        spec = previewed_spec(data, previews.settings.kafka_max_message_bytes)
        known = etags(request.headers.get("if-none-match"))
        preview = await _rendered(previews.frame(spec, data.time, data.width, data.format, known=known))
        return _answer(preview, MEDIA_TYPES[data.format], known)

    @post(
        "/clip",
        operation_class=EnvelopeOperation,
        status_code=200,
        summary="Render a short low-resolution clip of a spec",
        description="`start` to `start + duration` (at most 10 s) of the final render as a `preview: true` "
        "mp4 (H.264, at most 640 px on its longer side and 15 fps, its sound included), for playback in "
        "an editor. Kept like frames, by what the clip shows and plays.",
        response_headers=HEADERS,
        responses={
            200: ResponseSpec(
                bytes, generate_examples=False, media_type="video/mp4", description="The clip."
            ),
            **ERRORS,
            **GUARD_RESPONSES,
        },
    )
    async def clip(
        self,
        data: Annotated[PreviewClipRequest, Body(title="A spec and the part of it to play")],
        previews: NamedDependency[PreviewService],
        request: Request[Any, Any, Any],
    ) -> Response[bytes]:
        spec = previewed_spec(data, previews.settings.kafka_max_message_bytes)
        known = etags(request.headers.get("if-none-match"))
        preview = await _rendered(previews.clip(spec, data.start, data.duration, known=known))
        return _answer(preview, "video/mp4", known)

    @post(
        "/layout",
        operation_class=EnvelopeOperation,
        status_code=200,
        summary="Where each element of a spec is",
        description="Each element's span on the output's timeline as the renderer resolves it (a `media` "
        "duration is its source's length) and, at `time`, its box, anchor point, rotation and opacity in "
        "output pixels, in drawing order: what an editor needs to draw a timeline and hit-test a canvas. "
        "Sources are fetched and probed under the same rules as a job's.",
        responses={
            200: ResponseSpec(PreviewLayout, generate_examples=False, description="The layout."),
            **{status: spec for status, spec in ERRORS.items() if status != 304},
            **GUARD_RESPONSES,
        },
    )
    async def layout(
        self,
        data: Annotated[PreviewLayoutRequest, Body(title="A spec and the time of the boxes")],
        previews: NamedDependency[PreviewService],
    ) -> PreviewLayout:
        spec = previewed_spec(data, previews.settings.kafka_max_message_bytes)
        laid = await _rendered(previews.layout(spec, data.time))
        return PreviewLayout.model_validate(asdict(laid))
