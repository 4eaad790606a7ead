"""The `videogen` command: run the stack or one of its processes, submit a job, render locally."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

import orjson

from analytics.cli import add_analytics_commands
from api.document import DOCUMENT_PATH, write_document
from schemas.elements import source_of
from schemas.errors import JobError
from schemas.settings import get_settings, settings_markdown
from schemas.spec import VideoSpec


def _cmd_up(_: argparse.Namespace) -> int:
    from deploy.embedded import run_up

    return run_up()


def _cmd_api(_: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from streams.jsonlog import configure_logging
    from streams.tracing import configure_tracing

    settings = get_settings()
    configure_logging("api", settings.log_level)
    configure_tracing(settings, "api")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    return 0


def _cmd_worker(_: argparse.Namespace) -> int:
    from agents.worker import run_worker

    run_worker()
    return 0


def _progress_bar(percent: float, step: str) -> None:
    filled = int(percent / 100 * 30)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {percent:5.1f}% {step[:40]:<40}")
    sys.stderr.flush()


def _cmd_submit(args: argparse.Namespace) -> int:
    """Through the Python client (videogen_client), so the CLI speaks the API as any producer does."""
    from videogen_client import Client, JobState, VideogenError
    from videogen_client.models import JobCompleted, JobProcessing

    def show(state: JobState) -> None:
        if isinstance(state, JobProcessing):
            _progress_bar(state.progress_percent, state.current_step)

    spec = orjson.loads(Path(args.spec).read_bytes())
    try:
        with Client(args.url, args.api_key) as client:
            answer = client.submit(spec)
            if not isinstance(answer, JobCompleted):
                print(f"job {answer.job_id} accepted; following its events", file=sys.stderr)
                *_, final = client.follow(answer, on_progress=show)
                sys.stderr.write("\n")
                answer = client.wait(final)
    except VideogenError as exc:
        sys.stderr.write("\n")
        error = {"code": exc.code, "message": exc.message, "details": exc.details}
        print(orjson.dumps(error, option=orjson.OPT_INDENT_2).decode(), file=sys.stderr)
        return 1
    print(answer.result_url)
    return 0


async def _render_locally(spec: VideoSpec, output: Path) -> None:
    from media.fetch import fetch_sources
    from media.render import render_video

    settings = get_settings()
    local = {
        p.index: Path(source)
        for p in spec.placed
        if (source := source_of(p.element)) is not None and Path(source).is_file()
    }
    with tempfile.TemporaryDirectory(prefix="videogen-") as tmp:
        # The remaining elements (URL sources, font URLs) are fetched like the worker does.
        fetched = await fetch_sources(spec, Path(tmp), settings, skip=set(local))
        sources = {**local, **{i: Path(f.path) for i, f in fetched.items()}}

        async def progress(percent: float) -> None:
            _progress_bar(percent, "rendering")

        outcome = await render_video(spec, sources, output, settings=settings, on_progress=progress)
    sys.stderr.write("\n")
    size = "audio" if outcome.width is None else f"{outcome.width}x{outcome.height}"
    print(f"{outcome.path} {size} {outcome.duration_seconds:.2f}s {outcome.size_bytes} bytes")


def _cmd_render(args: argparse.Namespace) -> int:
    spec = VideoSpec.model_validate(orjson.loads(Path(args.spec).read_bytes()))
    try:
        asyncio.run(_render_locally(spec, Path(args.output)))
    except JobError as exc:
        print(f"\n{exc.code}: {exc.message} {orjson.dumps(exc.details).decode()}", file=sys.stderr)
        return 1
    return 0


README_MARKERS = ("<!-- settings:start -->\n", "<!-- settings:end -->")


def _cmd_settings(args: argparse.Namespace) -> int:
    if args.readme is None:
        print(settings_markdown())
        return 0
    text = args.readme.read_text()
    start, end = README_MARKERS
    head, rest = text.split(start, 1)
    args.readme.write_text(head + start + settings_markdown() + "\n" + end + rest.split(end, 1)[1])
    return 0


def _cmd_schemas(args: argparse.Namespace) -> int:
    from schemas.export import write_schemas

    for path in write_schemas():
        print(path)
    return 0


def _cmd_docs(_: argparse.Namespace) -> int:
    from api.docsite import generate

    built = generate()
    print(f"{len(built.pages)} pages, {len(built.pictures)} pictures under docs/reference/")
    return 0


def _cmd_openapi(args: argparse.Namespace) -> int:
    print(write_document(args.output))
    return 0


def _cmd_client_models(_: argparse.Namespace) -> int:
    from schemas.client_models import write_client_models

    print(write_client_models())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videogen", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the whole embedded stack in the foreground").set_defaults(func=_cmd_up)
    sub.add_parser("api", help="run the HTTP API").set_defaults(func=_cmd_api)
    sub.add_parser("worker", help="run one pipeline worker").set_defaults(func=_cmd_worker)
    submit = sub.add_parser("submit", help="post a spec, follow its events, print the result URL")
    submit.add_argument("spec", help="path to a JSON spec")
    submit.add_argument("--url", default=f"http://127.0.0.1:{get_settings().port}", help="API base URL")
    submit.add_argument(
        "--api-key", default=os.environ.get("VIDEOGEN_API_KEY"), help="API key (default: $VIDEOGEN_API_KEY)"
    )
    submit.set_defaults(func=_cmd_submit)
    render = sub.add_parser("render", help="render a spec locally through the engine (no broker)")
    render.add_argument("spec", help="path to a JSON spec; sources may be URLs or local paths")
    render.add_argument("-o", "--output", required=True, help="output file")
    render.set_defaults(func=_cmd_render)
    settings_cmd = sub.add_parser("settings", help="print the settings table (Markdown)")
    settings_cmd.add_argument(
        "--readme", type=Path, help="rewrite the table between the markers in this file"
    )
    settings_cmd.set_defaults(func=_cmd_settings)
    sub.add_parser("schemas", help="regenerate the JSON Schemas in schemas/json/").set_defaults(
        func=_cmd_schemas
    )
    sub.add_parser(
        "docs", help="write the documentation site's generated pages (docs/reference/) for mkdocs"
    ).set_defaults(func=_cmd_docs)
    openapi = sub.add_parser("openapi", help="rewrite the OpenAPI document clients are generated from")
    openapi.add_argument("-o", "--output", type=Path, default=DOCUMENT_PATH, help="the file to write")
    openapi.set_defaults(func=_cmd_openapi)
    sub.add_parser(
        "client-models", help="regenerate the Python client's models from the API's (clients/python)"
    ).set_defaults(func=_cmd_client_models)
    add_analytics_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
