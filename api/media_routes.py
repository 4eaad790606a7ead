"""The studio's own media: an upload form for a file from the user's computer, the media shelf (the
tenant's uploads and the built-in samples), deleting an upload, and the fonts a text may name.

Thin controller over storage/uploads.py; boto3 calls run in a thread. Uploads are the tenant's:
listed and deleted only under its own folder. Using one in a job needs only its s3:// URL, whose
random upload id (122 bits) no other tenant can guess (docs/uploads.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, TypeVar

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import Body, FromPath, QueryParameter

from api.auth import current_tenant
from api.errors import ApiError, EnvelopeOperation
from api.jobservice import JobService
from api.routes import BAD_PAGE, GUARD_RESPONSES, error_spec
from media.font_catalog import font_families
from schemas.errors import ErrorCode, JobError
from schemas.media import FontFamily, FontList, MediaItem, MediaShelf, UploadForm, UploadRequest
from storage import uploads
from storage.uploads import StoredMedia

T = TypeVar("T")
DEFAULT_PAGE, MAX_PAGE = 100, 200
MAX_SAMPLES = 50
REFUSED = error_spec(
    "A type no source may be (INVALID_INPUT naming `content_type`), an empty file or one over "
    "MAX_FILE_SIZE_MB (INVALID_INPUT naming `size`)."
)
UPLOADS_OFF = error_spec(
    "S3_BUCKET_NAME is not in SOURCE_S3_BUCKETS: an upload could not be used (FORBIDDEN)."
)
UNREADABLE = error_spec("S3 could not be reached, or sign the form (STORAGE_ERROR).")
UNKNOWN = error_spec("No upload of the caller's by that id (NOT_FOUND).")


async def _blocking(call: Callable[[], T]) -> T:
    """A storage call in a thread, its JobError as the API's answer."""
    try:
        return await asyncio.to_thread(call)
    except JobError as exc:
        raise ApiError.of(exc) from None


def _item(media: StoredMedia, upload: bool) -> MediaItem:
    return MediaItem(
        name=media.name,
        source_url=media.source_url,
        content_type=media.content_type,
        size=media.size,
        uploaded_at=media.uploaded_at,
        url=media.url,
        upload_id=media.key.split("/")[2] if upload else None,
    )


class MediaController(Controller):
    path = "/api/v1"
    tags = ["media"]
    dependencies = {"tenant": Provide(current_tenant, sync_to_thread=False)}

    @post(
        "/uploads",
        operation_class=EnvelopeOperation,
        status_code=201,
        summary="Start an upload",
        description="A presigned S3 POST for one file: send its `fields`, then the file as `file`, as "
        "multipart form data to `url`. S3 holds the upload to the declared type and to 1..MAX_FILE_SIZE_MB "
        "bytes; use `source_url` in a spec at once, where the file is screened like any source.",
        responses={400: REFUSED, 403: UPLOADS_OFF, 503: UNREADABLE, **GUARD_RESPONSES},
    )
    async def create_upload(
        self,
        data: Annotated[UploadRequest, Body(title="Upload")],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
    ) -> UploadForm:
        form = await _blocking(
            lambda: uploads.upload_form(service.settings, tenant, data.filename, data.content_type, data.size)
        )
        return UploadForm.model_validate(asdict(form))

    @get(
        "/media",
        operation_class=EnvelopeOperation,
        summary="The media shelf",
        description="The caller's uploads (newest first, a page of them) and the built-in samples, each "
        "with its s3:// `source_url` and a presigned GET `url` to show it from.",
        responses={400: BAD_PAGE, 503: UNREADABLE, **GUARD_RESPONSES},
    )
    async def shelf(
        self,
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
        limit: Annotated[
            int, QueryParameter(ge=1, le=MAX_PAGE, description="Uploads per page.")
        ] = DEFAULT_PAGE,
        offset: Annotated[int, QueryParameter(ge=0, description="Uploads to skip (next_offset).")] = 0,
    ) -> MediaShelf:
        settings = service.settings
        own, total = await _blocking(
            lambda: uploads.shelf(settings, uploads.tenant_prefix(tenant), limit, offset)
        )
        samples, _ = await _blocking(lambda: uploads.shelf(settings, uploads.SAMPLES_PREFIX, MAX_SAMPLES, 0))
        return MediaShelf(
            uploads=[_item(media, upload=True) for media in own],
            samples=[_item(media, upload=False) for media in samples],
            total=total,
            limit=limit,
            offset=offset,
            next_offset=offset + limit if offset + limit < total else None,
        )

    @delete(
        "/media/{upload_id:str}",
        operation_class=EnvelopeOperation,
        status_code=204,
        summary="Delete an upload",
        description="Jobs already rendered with it are not affected; jobs still to fetch it fail.",
        responses={404: UNKNOWN, 503: UNREADABLE, **GUARD_RESPONSES},
    )
    async def remove_upload(
        self,
        upload_id: FromPath[str],
        service: NamedDependency[JobService],
        tenant: NamedDependency[str | None],
    ) -> None:
        if not await _blocking(lambda: uploads.delete_upload(service.settings, tenant, upload_id)):
            raise ApiError(ErrorCode.NOT_FOUND, f"no upload {upload_id!r}", {"upload_id": upload_id})

    @get(
        "/fonts",
        operation_class=EnvelopeOperation,
        summary="The fonts a text may name",
        description="The bundled font families a text or subtitles element's `font_family` may name, with "
        "the scripts each draws itself (any font draws other scripts through the bundled fallbacks).",
        responses={**GUARD_RESPONSES},
    )
    async def fonts(self) -> FontList:
        families = await asyncio.to_thread(font_families)
        return FontList(fonts=[FontFamily(family=f.family, scripts=list(f.scripts)) for f in families])
