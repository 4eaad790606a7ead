"""Seed 003's inline templates as video specs. Pure, so the mapping is unit-tested.

The placeholders are filled first (api/merge.py, the same rules as saved templates), then the
seed's track form is read and each track becomes one element: `background` a color, image or
video element covering the frame on track 0 (behind everything), `text` a text element, `image`
an image element, `audio` an audio element (looped with `loop`); the others go on tracks 1, 2, …
in list order, so later tracks are drawn on top. `animation: fade` fades in and out. An error in
the spec made from the tracks is reported at the track field the caller wrote
(`template.tracks.1.src`), with the placeholder its value came from.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from api.compositions import refuse
from api.merge import DEFAULT_MAX_TEXT, Merged, Path, merge, problems_of, validated
from schemas.errors import ErrorCode
from schemas.generate import Track, TracksTemplate
from schemas.spec import VideoSpec
from schemas.templates import MergeValues

PREFIX = "template."
FADE_SECONDS = 0.5
VIDEO_EXTENSIONS = {"mp4", "m4v", "mov", "webm", "mkv", "avi", "gif"}
# track field -> element field (the others have the same name, or none)
ELEMENT_FIELDS = {
    "start": "time",
    "src": "source",
    "fontSize": "font_size",
    "fontFamily": "font_family",
    "fit": "fit_mode",
}
OUTPUT_FIELDS = {"format": "output_format", "background": "background_color"}
TRACK_FIELDS = {element: track for track, element in ELEMENT_FIELDS.items()} | {
    name: name for name in Track.model_fields if name not in ELEMENT_FIELDS
}
TEMPLATE_FIELDS = {element: output for output, element in OUTPUT_FIELDS.items()}


def _kind(track: Track) -> str:
    if track.type != "background":
        return track.type
    if track.color is not None:
        return "color"
    extension = PurePosixPath(urlsplit(track.src or "").path).suffix.lower().lstrip(".")
    return "video" if extension in VIDEO_EXTENSIONS else "image"


def _element(index: int, track: Track) -> dict[str, Any]:
    fields = track.model_dump(exclude_none=True, exclude={"type", "loop", "animation"})
    element: dict[str, Any] = {ELEMENT_FIELDS.get(name, name): value for name, value in fields.items()}
    element["type"] = _kind(track)
    element["track"] = 0 if track.type == "background" else index + 1
    if track.type == "background" and element["type"] != "color":
        element.setdefault("fit_mode", "cover")
        if element["type"] == "video":
            element["duration_mode"] = "loop"
    if track.type == "audio" and track.loop:
        element["duration_mode"] = "loop"
    if track.animation == "fade":
        element["fade_in"] = element["fade_out"] = FADE_SECONDS
    return element


def to_spec_document(template: TracksTemplate) -> dict[str, Any]:
    """The spec (as JSON) the tracks make; element n is track n."""
    output = template.model_dump(exclude_none=True, exclude={"tracks"})
    document = {OUTPUT_FIELDS.get(name, name): value for name, value in output.items()}
    document["elements"] = [_element(n, track) for n, track in enumerate(template.tracks)]
    return document


def _track_path(loc: Path) -> Path:
    """Where an error in the made spec is in the tracks the caller wrote."""
    if len(loc) >= 2 and loc[0] == "elements":
        field = TRACK_FIELDS.get(str(loc[2])) if len(loc) > 2 else None
        return ("tracks", loc[1], field, *loc[3:]) if field else ("tracks", loc[1])
    if loc:
        return (TEMPLATE_FIELDS.get(str(loc[0]), loc[0]), *loc[1:])
    return loc


def inline_spec(
    template: dict[str, Any], inputs: MergeValues, *, max_text: int = DEFAULT_MAX_TEXT
) -> VideoSpec:
    """An inline template (track form, or a spec with `elements`) filled with `inputs` (at most
    `max_text` characters of text); a 400's fields are under `template.` and `inputs.`."""
    merged = merge(template, inputs, values_field="inputs", max_text=max_text)
    if "tracks" not in template:
        return validated(merged, PREFIX)
    try:
        form = TracksTemplate.model_validate(merged.document)
    except ValidationError as exc:
        raise refuse(ErrorCode.INVALID_INPUT, "invalid template", problems_of(exc, merged, PREFIX)) from exc
    made = Merged(to_spec_document(form), merged.origins, merged.unfilled)
    try:
        return VideoSpec.model_validate(made.document)
    except ValidationError as exc:
        problems = problems_of(exc, made, PREFIX, rename=_track_path)
        raise refuse(ErrorCode.INVALID_INPUT, "invalid template", problems) from exc
