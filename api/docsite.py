"""The documentation site's generated pages (`videogen docs`, run by `make docs` before `mkdocs build`).

The reference is written from the code itself, so it cannot drift: one page per element type from
the JSON Schema of the video spec (each field's type, default, description and an example) with a
picture of its example rendered by the engine, the error codes, the Kafka contract
(topics and their schemas), the analytics tables as the migrations create them, and the READMEs of
analytics/ and deploy/. Pages go to docs/reference/ (not committed); hand-written pages stay in
docs/ and read as well on GitHub (the settings table there is `videogen settings --readme`'s).
Pictures are cached by a hash of their spec, so a rebuild renders only the examples that changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from analytics.client import ClickHouseClient
from api.errors import HTTP_STATUS
from deploy.samples import PREFIX, SAMPLES, make_sample
from schemas.elements import ELEMENT_MODELS, source_of
from schemas.errors import ErrorCode
from schemas.export import EXPORTED, SCHEMA_DIR
from schemas.settings import Settings, get_settings
from schemas.spec import VideoSpec
from streams import topics

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"
PICTURE_SIZE = (480, 270)
SAMPLE_URL = f"s3://videogen/{PREFIX}"  # the embedded stack's samples, as the examples name them


@dataclass(frozen=True)
class Example:
    """An element as a user would write it, and how its picture is taken."""

    element: dict[str, Any]
    backdrop: tuple[dict[str, Any], ...] = ()  # drawn under it in the picture, not shown on the page
    at: float = 1.0  # seconds into the picture's timeline
    picture: bool = True  # audio is heard, not seen
    shown_with: str = "over a gradient backdrop"  # what the picture adds to the element


_BACKDROP = ({"type": "color", "fill_gradient": {"type": "linear", "colors": ["#1d3557", "#457b9d"]}},)

EXAMPLES: dict[str, Example] = {
    "video": Example(
        {
            "type": "video",
            "source": f"{SAMPLE_URL}clip.mp4",
            "width": "70%",
            "height": "70%",
            "trim_start": 1,
            "color_preset": "vivid",
            "animations": [{"type": "slide", "direction": "left", "duration": 0.6, "easing": "ease-out"}],
        },
        _BACKDROP,
    ),
    "image": Example(
        {
            "type": "image",
            "source": f"{SAMPLE_URL}logo.png",
            "width": 180,
            "height": 180,
            "rotation": 12,
            "effect": "zoom-in",
            "duration": 4,
        },
        _BACKDROP,
    ),
    "text": Example(
        {
            "type": "text",
            "text": "Hello, videogen",
            "font_size": 48,
            "color": "#ffffff",
            "stroke": {"color": "#1d3557", "width": 3},
            "shadow": {"x": 3, "y": 3},
            "animations": [{"type": "fade", "split": "word", "stagger": 0.1, "duration": 0.4}],
        },
        _BACKDROP,
    ),
    "color": Example(
        {"type": "color", "fill_gradient": {"type": "radial", "colors": ["#ffd166", "#ef476f", "#073b4c"]}}
    ),
    "shape": Example(
        {
            "type": "shape",
            "shape": "rectangle",
            "width": 300,
            "height": 110,
            "fill_color": "#ffffff",
            "border_radius": 24,
            "stroke": {"color": "#ef476f", "width": 6},
        },
        _BACKDROP,
    ),
    "composition": Example(
        {
            "type": "composition",
            "width": "60%",
            "height": "60%",
            "rotation": -6,
            "elements": [
                {"type": "color", "color": "#ffffff"},
                {"type": "text", "text": "A card", "font_size": 40, "color": "#1d3557"},
            ],
        },
        _BACKDROP,
    ),
    "subtitles": Example(
        {
            "type": "subtitles",
            "font_size": 36,
            "highlight_color": "#ffd166",
            "cues": [
                {
                    "start": 0,
                    "end": 2,
                    "words": [
                        {"start": 0, "end": 0.6, "text": "Every"},
                        {"start": 0.6, "end": 1.2, "text": "word"},
                        {"start": 1.2, "end": 1.6, "text": "lights"},
                        {"start": 1.6, "end": 2, "text": "up"},
                    ],
                }
            ],
        },
        _BACKDROP,
    ),
    "audio": Example(
        {"type": "audio", "source": f"{SAMPLE_URL}music.m4a", "volume": 0.6, "fade_out": 1},
        picture=False,
    ),
    "speech": Example(
        {"type": "speech", "id": "narration", "text": "Welcome to our channel.", "voice": "en-GB"},
        (*_BACKDROP, {"type": "subtitles", "transcribe": "narration", "highlight_color": "#ffd166"}),
        shown_with="over a gradient backdrop, captioned by a subtitles element that transcribes it",
    ),
}


# ---------------------------------------------------------------- JSON Schema to Markdown


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _code(value: Any) -> str:
    """A JSON value as inline code (a pipe inside a code span does not split a table cell)."""
    return f"`{orjson.dumps(value).decode()}`"


def type_of(schema: dict[str, Any]) -> str:
    """A field's type in a few words: `number (0 to 1)`, `"media"`, `Animation`, `list of Cue`, an enum's
    values."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "const" in schema:
        return _code(schema["const"])
    if "enum" in schema:
        return ", ".join(_code(v) for v in schema["enum"])
    if "anyOf" in schema or "oneOf" in schema:
        parts = [type_of(s) for s in schema.get("anyOf", schema.get("oneOf", [])) if s.get("type") != "null"]
        return " or ".join(dict.fromkeys(parts))
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {type_of(schema.get('items', {}))}"
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None and high is not None:
        return f"{kind} ({low} to {high})"
    if low is not None:
        return f"{kind} (≥ {low})" if "minimum" in schema else f"{kind} (> {low})"
    return str(kind)


def description_of(schema: dict[str, Any]) -> str:
    """A field's description, or that of the one non-null alternative that has one."""
    if schema.get("description"):
        return str(schema["description"])
    for part in schema.get("anyOf", []):
        if part.get("description"):
            return str(part["description"])
    return ""


def refs_of(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        if "$ref" in schema:
            yield str(schema["$ref"]).rsplit("/", 1)[-1]
        for value in schema.values():
            yield from refs_of(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from refs_of(value)


# Examples of fields the schema gives none for, by name (the same name means the same thing on
# every element type); a test checks each is accepted where it appears.
FIELD_EXAMPLES: dict[str, Any] = {
    "x": "50%",
    "y": 120,
    "width": "50%",
    "height": 200,
    "x_anchor": "50%",
    "y_anchor": "100%",
    "opacity": 0.8,
    "rotation": 15,
    "scale": 1.2,
    "time": 2,
    "duration": 5,
    "track": 2,
    "fade_in": 0.5,
    "fade_out": 0.5,
    "id": "title",
    "transition": {"type": "fade", "duration": 0.5},
    "filters": [{"type": "greyscale"}],
    "animations": [{"type": "fade", "duration": 0.5}],
    "text": "Hello",
    "font_family": "Roboto",
    "font_size": "5vmin",
    "line_spacing": 10,
    "background_color": "#00000099",
    "background_padding": 12,
    "stroke": {"color": "#000000", "width": 3},
    "shadow": {"x": 2, "y": 2},
    "border_radius": "50%",
    "fill_color": "#1e90ff",
    "fill_gradient": {"type": "linear", "colors": ["#ff512f", "#dd2476"], "angle": 90},
    "color": "#ffffff",
    "source": "s3://videogen/captions/talk.srt",
    "chroma_key": {"color": "#00ff00", "similarity": 0.3, "blend": 0.1},
    "crop": {"x": "50%", "y": 0, "width": "50%", "height": "100%"},
    "effect_scale": 1.3,
    "speed": 2,
    "trim_start": 1.5,
    "trim_end": 4,
    "volume": 0.5,
    "muted": True,
    "voiceover": True,
    "margin": 40,
    "max_width": "70%",
    "highlight_color": "#ffd700",
    "words_per_cue": 4,
    "chars_per_cue": 32,
    "cues": [{"start": 0.5, "end": 2, "text": "Hello there"}],
    "language": "en",
    "resolution": "1080p",
    "fps": 25,
    "crf": 23,
    "snapshot_time": 1.5,
    "loudness_normalization": True,
    "poster": {"time": 1.5},
    "thumbnail": {"time": 1.5, "width": 320},
    "preview": True,
    "range": {"start": 10, "duration": 5},
}


def example_of(name: str, prop: dict[str, Any], example: dict[str, Any] | None) -> Any:
    """A field's example: the schema's own, the page's example's value, a common one by name, or an
    enum value other than the default. None: there is nothing worth showing."""
    if prop.get("examples"):
        return prop["examples"][0]
    if example is not None and name in example:
        return example[name]
    if name in FIELD_EXAMPLES:
        return FIELD_EXAMPLES[name]
    choices = [v for alt in [prop, *prop.get("anyOf", [])] for v in alt.get("enum", [])]
    return next((v for v in choices if v != prop.get("default")), None)


def fields_table(schema: dict[str, Any], example: dict[str, Any] | None = None) -> str:
    """Name, type, default, description and an example of each field of an object schema."""
    required = set(schema.get("required", []))
    rows = ["| Field | Type | Default | Description | Example |", "| --- | --- | --- | --- | --- |"]
    for name, prop in schema.get("properties", {}).items():
        required_or_not = "**required**" if name in required else "—"
        default = _code(prop["default"]) if "default" in prop else required_or_not
        value = example_of(name, prop, example)
        shown = "" if value is None else _code(value)
        rows.append(
            f"| `{name}` | {_cell(type_of(prop))} | {default} | {_cell(description_of(prop))} | {shown} |"
        )
    return "\n".join(rows)


def _nested_sections(root: dict[str, Any], defs: dict[str, Any], skip: set[str]) -> list[str]:
    """Tables of the objects a schema refers to (animations, strokes, cues…), each once."""
    seen: list[str] = []
    queue = list(refs_of(root))
    while queue:
        name = queue.pop(0)
        if name in seen or name in skip or name not in defs:
            continue
        seen.append(name)
        queue.extend(refs_of(defs[name]))
    sections = []
    for name in seen:
        schema = defs[name]
        intro = f"{_cell(schema['description'])}\n\n" if schema.get("description") else ""
        sections.append(f"### `{name}`\n\n{intro}{fields_table(schema)}\n")
    return sections


# ---------------------------------------------------------------- pictures


def picture_spec(example: Example) -> dict[str, Any]:
    width, height = PICTURE_SIZE
    return {
        "output_format": "png",
        "width": width,
        "height": height,
        "duration": 3,
        "snapshot_time": example.at,
        "elements": [*example.backdrop, example.element],
    }


def _sample_files(settings: Settings) -> dict[str, Path]:
    """The embedded stack's sample media, made locally once (under DATA_DIR/samples, as `videogen up`)."""
    folder = settings.data_dir / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for sample in SAMPLES:
        path = folder / sample.name
        if not path.is_file() or path.stat().st_size == 0:
            make_sample(settings, sample, path)
        files[f"{SAMPLE_URL}{sample.name}"] = path
    return files


async def _render(spec: VideoSpec, out: Path, samples: dict[str, Path], settings: Settings) -> None:
    from media.render import render_video
    from media.voicing import prepare_voices

    sources = {p.index: samples[s] for p in spec.placed if (s := source_of(p.element)) is not None}
    with tempfile.TemporaryDirectory(prefix="videogen-voices-") as voices:
        # Speech is spoken by the offline voice, as a worker would before its render (no cache: no S3).
        made = await asyncio.to_thread(prepare_voices, spec, sources, Path(voices), settings, None)
        await render_video(spec, sources | {i: m.path for i, m in made.items()}, out, settings=settings)


def render_picture(kind: str, example: Example, folder: Path, settings: Settings) -> Path:
    """The example rendered by the engine, named by its spec's hash: an unchanged one is reused."""
    spec = picture_spec(example)
    digest = hashlib.sha256(orjson.dumps(spec, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]
    path = folder / f"{kind}-{digest}.png"
    if not path.is_file():
        for stale in folder.glob(f"{kind}-*.png"):
            stale.unlink()
        with tempfile.TemporaryDirectory(prefix="videogen-picture-") as tmp:
            # The render writes captions beside its output: only the picture is kept.
            made = Path(tmp) / path.name
            asyncio.run(_render(VideoSpec.model_validate(spec), made, _sample_files(settings), settings))
            shutil.move(made, path)
    return path


# ---------------------------------------------------------------- pages


def element_page(kind: str, schema: dict[str, Any], defs: dict[str, Any], picture: Path | None) -> str:
    example = EXAMPLES[kind]
    lines = [f"# `{kind}`\n"]
    if schema.get("description"):
        lines.append(f"{schema['description']}\n")
    lines.append("## Example\n")
    lines.append(f"```json\n{orjson.dumps(example.element, option=orjson.OPT_INDENT_2).decode()}\n```\n")
    if picture is not None:
        lines.append(
            f"![The example, rendered by the engine at {example.at:g} s]({picture.name})\n\n"
            f"*Rendered by the engine when this site was built: {PICTURE_SIZE[0]}x{PICTURE_SIZE[1]}, "
            f"at {example.at:g} s{', ' + example.shown_with if example.backdrop else ''}.*\n"
        )
    else:
        lines.append("*An audio element is heard, not seen: it has no picture.*\n")
    lines.append("## Fields\n")
    lines.append(fields_table(schema, example.element) + "\n")
    elements = {model.__name__ for model in ELEMENT_MODELS.values()}
    nested = _nested_sections(schema, defs, skip=elements)
    if nested:
        lines.append("## Nested objects\n")
        lines.extend(nested)
    return "\n".join(lines)


SPEC_EXAMPLE: dict[str, Any] = {
    "output_format": "mp4",
    "width": 1280,
    "height": 720,
    "duration": 10,
    "background_color": "#1d3557",
    "elements": [{"type": "text", "text": "Hello"}],
}


def spec_page(spec_schema: dict[str, Any]) -> str:
    top = {k: v for k, v in spec_schema.items() if k != "$defs"}
    links = ", ".join(f"[`{kind}`]({kind}.md)" for kind in ELEMENT_MODELS)
    return (
        "# The video spec\n\n"
        "The body of `POST /api/v1/videocreate`, and the `spec` of a Kafka `JobRequested`. "
        f"Element types: {links}.\n\n"
        "## Fields\n\n" + fields_table(top, SPEC_EXAMPLE) + "\n"
    )


ERROR_MEANINGS: dict[ErrorCode, str] = {
    ErrorCode.INVALID_INPUT: "The request or spec does not fit: `details.fields` names each field and why.",
    ErrorCode.SOURCE_DOWNLOAD_FAILED: "A source could not be fetched (4xx, refused address, too large).",
    ErrorCode.FFMPEG_ERROR: "The render failed; the message carries FFmpeg's last lines.",
    ErrorCode.PROCESSING_TIMEOUT: "A render ran past PROCESSING_TIMEOUT_MINUTES, or a job made no progress.",
    ErrorCode.S3_UPLOAD_FAILED: "The result could not be stored after UPLOAD_RETRIES attempts.",
    ErrorCode.S3_ACCESS_DENIED: "The bucket refused the worker's credentials.",
    ErrorCode.S3_BUCKET_NOT_FOUND: "The bucket does not exist.",
    ErrorCode.INSUFFICIENT_STORAGE: "The work disk would fall under MIN_FREE_DISK_MB.",
    ErrorCode.MEMORY_LIMIT_EXCEEDED: "The render ran out of memory.",
    ErrorCode.NETWORK_TIMEOUT: "A source, or a prompt generator, did not answer within NETWORK_TIMEOUT.",
    ErrorCode.QUEUE_FULL: "More than MAX_QUEUED_JOBS unfinished jobs: retry after Retry-After.",
    ErrorCode.NOT_FOUND: "No such job, template or route (or another tenant's).",
    ErrorCode.CONFLICT: "The job has already ended (cancel, download before completion).",
    ErrorCode.IDEMPOTENCY_CONFLICT: "An Idempotency-Key sent again with another body.",
    ErrorCode.UNAUTHORIZED: "No API key, or a wrong one.",
    ErrorCode.FORBIDDEN: "The key may not do this (internal routes, another tenant's job).",
    ErrorCode.RATE_LIMITED: "The tenant's rate or in-flight cap is reached: retry after Retry-After.",
    ErrorCode.PAYLOAD_TOO_LARGE: "The body, or the job message it makes, is larger than allowed.",
    ErrorCode.CANCELLED: "The job was cancelled.",
    ErrorCode.INTERNAL_ERROR: "A bug: retry, and report the request_id if it persists.",
    ErrorCode.COMPOSITION_NOT_FOUND: "Compositions API: no such composition.",
    ErrorCode.INVALID_CLIP_FORMAT: "Compositions and process-clips: a clip URL that is not a video.",
    ErrorCode.INVALID_TIMELINE: "Compositions API: clips or overlays that cannot be placed in time.",
    ErrorCode.PROCESSING_FAILED: "Compositions API: a render failure (the specific code is the `cause`).",
    ErrorCode.STORAGE_ERROR: "Compositions API: an S3 failure (the specific code is the `cause`).",
}


def errors_page() -> str:
    rows = ["| Code | HTTP status | Meaning |", "| --- | --- | --- |"]
    for code in ErrorCode:
        rows.append(f"| `{code}` | {HTTP_STATUS.get(code, 500)} | {ERROR_MEANINGS[code]} |")
    return (
        "# Error codes\n\nEvery error answer, job failure and Kafka result uses one envelope:\n\n"
        '```json\n{"error": {"code": "INVALID_INPUT", "message": "invalid request: width: …",\n'
        '           "details": {"fields": [{"field": "width", "message": "…"}]},\n'
        '           "request_id": "3f2c…", "timestamp": "2026-11-21T10:00:00.000Z"}}\n```\n\n'
        "The HTTP status is that of a request refused with the code; a job failing later reports "
        "it in its result.\n\n" + "\n".join(rows) + "\n"
    )


TOPIC_KEYS: dict[str, str] = {
    topics.BATCH_ITEMS: "batch id",
    topics.CHUNKS: "job id and chunk number",
    topics.TEMPLATES: "template id",
}
TOPIC_SCHEMAS: dict[str, str] = {
    topics.REQUESTED: "job_requested",
    topics.EVENTS: "job_event",
    topics.RESULTS: "job_result",
    topics.DLQ: "dead_letter",
    topics.BATCH_ITEMS: "batch_item_ended",
    topics.TEMPLATES: "template_record",
}


def kafka_page(folder: Path) -> str:
    """Topics from streams/topics.py, each with its key and the JSON Schema of its value."""
    rows = ["| Topic | Key | Value | Cleanup |", "| --- | --- | --- | --- |"]
    for topic in topics.ALL_TOPICS:
        schema = TOPIC_SCHEMAS.get(topic)
        value = f"[`{schema}.schema.json`](schemas/{schema}.schema.json)" if schema else "internal"
        cleanup = "compact" if topic in topics.COMPACTED else "delete"
        rows.append(f"| `{topic}` | {TOPIC_KEYS.get(topic, 'job id')} | {value} | {cleanup} |")
    (folder / "schemas").mkdir(exist_ok=True)
    sections = []
    for name in EXPORTED:
        committed = SCHEMA_DIR / f"{name}.schema.json"
        shutil.copyfile(committed, folder / "schemas" / committed.name)
        schema = orjson.loads(committed.read_bytes())
        if "properties" in schema and name != "video_spec":
            sections.append(f"## `{name}`\n\n{fields_table(schema)}\n")
    return (
        "# Kafka topics and schemas\n\n"
        "Generated from `streams/topics.py` and `schemas/json/`: every topic has "
        "`KAFKA_TOPIC_PARTITIONS` partitions. How to produce jobs, and what each event means: "
        "[the Kafka contract](../kafka.md). The video spec: [its reference](elements/spec.md).\n\n"
        + "\n".join(rows)
        + "\n\n"
        + "\n".join(sections)
    )


def analytics_page(work: Path) -> str:
    """analytics/README.md, then every table's and view's columns as the migrations create them."""
    store = ClickHouseClient.open_embedded(work / "analytics")
    try:
        store.ensure_schema()
        listed = store.query_rows(
            "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name"
        )
        tables = [str(row[0]) for row in listed]
        sections = []
        for table in tables:
            rows = store.query_rows(f"DESCRIBE TABLE {table}")
            body = "\n".join(f"| `{r[0]}` | `{r[1]}` |" for r in rows)
            sections.append(f"### `{table}`\n\n| Column | Type |\n| --- | --- |\n{body}\n")
    finally:
        store.close()
    readme = _relinked((ROOT / "analytics" / "README.md").read_text())
    return readme + "\n## Columns, as the migrations create them\n\n" + "\n".join(sections)


def _relinked(readme: str) -> str:
    """A README beside the code, linking `../docs/x.md`, as a page of docs/reference/."""
    return readme.replace("](../docs/", "](../")


@dataclass
class Built:
    pages: list[Path] = field(default_factory=list)
    pictures: list[Path] = field(default_factory=list)


def generate(out: Path = REFERENCE, settings: Settings | None = None) -> Built:
    """Write every generated page (and picture) under `out`; returns what was written."""
    settings = settings or get_settings()
    built = Built()
    elements = out / "elements"
    elements.mkdir(parents=True, exist_ok=True)
    for stale in out.rglob("*.md"):  # a page no longer generated must not linger in the site
        stale.unlink()

    def write(path: Path, text: str) -> None:
        path.write_text(text)
        built.pages.append(path)

    spec_schema = orjson.loads((SCHEMA_DIR / "video_spec.schema.json").read_bytes())
    defs = spec_schema["$defs"]
    write(elements / "spec.md", spec_page(spec_schema))
    for kind, model in ELEMENT_MODELS.items():
        example = EXAMPLES[kind]
        picture = render_picture(kind, example, elements, settings) if example.picture else None
        if picture is not None:
            built.pictures.append(picture)
        write(elements / f"{kind}.md", element_page(kind, defs[model.__name__], defs, picture))
    write(out / "errors.md", errors_page())
    write(out / "kafka.md", kafka_page(out))
    with tempfile.TemporaryDirectory(prefix="videogen-docs-") as work:
        write(out / "analytics.md", analytics_page(Path(work)))
    write(out / "deploy.md", _relinked((ROOT / "deploy" / "README.md").read_text()))
    return built
