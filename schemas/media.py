"""The studio's own media: an upload form (POST /api/v1/uploads), the media shelf (GET /api/v1/media)
and the fonts a text may name (GET /api/v1/fonts). storage/uploads.py does the work."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

MAX_FILENAME_CHARS = 1024


class UploadRequest(BaseModel):
    """What the browser knows of the file before sending it; S3 holds the upload to it."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(
        ...,
        min_length=1,
        max_length=MAX_FILENAME_CHARS,
        description="The file's name on the user's computer; stored made safe ([A-Za-z0-9._-], at most 100 "
        "characters, an extension of its type).",
    )
    content_type: str = Field(
        ...,
        max_length=200,
        description="The file's MIME type, one a source may be (image, video, audio, font or subtitles). "
        "Empty or application/octet-stream: taken from the filename's extension.",
    )
    size: int = Field(..., ge=0, description="The file's size in bytes: 1 to MAX_FILE_SIZE_MB.")


class UploadForm(BaseModel):
    """A presigned S3 POST: send `fields` then the file as the `file` field, multipart, to `url`."""

    upload_id: str = Field(..., description="The upload's id (DELETE /api/v1/media/{upload_id}).")
    url: str = Field(..., description="Where the browser POSTs the form.")
    fields: dict[str, str] = Field(..., description="Form fields to send before `file`, unchanged.")
    source_url: str = Field(..., description="The s3:// URL a video spec uses the file by, once uploaded.")
    expires_at: datetime = Field(..., description="When the form stops being accepted.")
    max_bytes: int = Field(..., description="The largest file the form accepts (MAX_FILE_SIZE_MB).")


class MediaItem(BaseModel):
    """One file on the media shelf."""

    name: str = Field(..., description="The file's (safe) name.")
    source_url: str = Field(..., description="The s3:// URL a video spec uses it by.")
    content_type: str = Field(..., description="The MIME type it is stored with.")
    size: int = Field(..., description="Bytes.")
    uploaded_at: datetime
    url: str = Field(..., description="A presigned GET URL the browser can show it from (thumbnails).")
    upload_id: str | None = Field(None, description="The caller's upload's id; none for a sample.")


class MediaShelf(BaseModel):
    uploads: list[MediaItem] = Field(..., description="The caller's uploads, newest first, one page.")
    samples: list[MediaItem] = Field(..., description="The built-in samples (the embedded stack's bucket).")
    total: int = Field(..., description="How many uploads the caller has.")
    limit: int
    offset: int
    next_offset: int | None = Field(
        None, description="`offset` of the next page of uploads; none at the end."
    )


class FontFamily(BaseModel):
    family: str = Field(..., description="The name to give `font_family`.")
    scripts: list[str] = Field(..., description="The scripts (Unicode names) the font draws itself.")


class FontList(BaseModel):
    fonts: list[FontFamily]
