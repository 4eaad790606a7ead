"""The synchronous client: every endpoint a producer needs, typed by the API's own models."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from videogen_client import _core as core
from videogen_client._core import Body, JobRef, Retries, Via
from videogen_client.errors import TransportError, WaitTimeoutError
from videogen_client.models import (
    CompositionAccepted,
    CompositionMetadata,
    CompositionStatus,
    JobAccepted,
    JobCompleted,
    JobFailed,
    JobHistory,
    JobProcessing,
    TemplateList,
    TemplateRender,
    TemplateView,
    WsMessage,
)

JobState = JobCompleted | JobFailed | JobProcessing
OnProgress = Callable[[JobState], object]
DEFAULT_URL = "http://127.0.0.1:8000"


class Client:
    """A videogen API client. `api_key` is sent as `Authorization: Bearer`; 429 and 503 answers are
    retried after their Retry-After (see `Retries`). Use it as a context manager, or `close()` it."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: Retries | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._auth = auth
        self.retries = retries or Retries()
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=base_url,
            headers={**(headers or {}), **auth},
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---------------------------------------------------------------- transport

    def _send(
        self, request: httpx.Request, *, stream: bool = False, redirects: bool = False
    ) -> httpx.Response:
        """Send with the retry policy; an error answer is raised as its typed error."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.send(request, stream=stream, follow_redirects=redirects)
            except httpx.TransportError as exc:
                wait = core.transport_wait(self.retries, attempt, request, exc)
                if wait is None:
                    raise TransportError(f"{request.method} {request.url}: {exc!r}") from exc
            else:
                wait = core.response_wait(self.retries, attempt, response)
                if wait is None:
                    if response.is_error and stream:
                        response.read()
                        response.close()
                    return core.checked(response)
                response.close()
            time.sleep(wait)

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        request = self._http.build_request(method, path, json=json, params=params, headers=headers)
        return self._send(request)

    # ---------------------------------------------------------------- jobs

    def submit(self, spec: Body, *, idempotency_key: str | None = None) -> JobCompleted | JobAccepted:
        """POST /api/v1/videocreate: a `VideoCreateRequest` (or a `TemplateRender`, or a dict). The
        answer is the result (200, rendered within the quick window) or `JobAccepted` (202)."""
        response = self._call(
            "POST", f"{core.API}/videocreate", json=core.dump(spec), headers=core.headers_for(idempotency_key)
        )
        return core.submitted(response)

    def render_template(
        self,
        template_id: str,
        merge: dict[str, str | int | float | bool] | None = None,
        modifications: dict[str, Any] | None = None,
        *,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> JobCompleted | JobAccepted:
        """A job from a saved template, its placeholders filled by `merge` and its fields set by
        `modifications` (`{"title.text": "Sale"}`)."""
        render = TemplateRender(
            template_id=template_id,
            merge=merge or {},
            modifications=modifications or {},
            callback_url=callback_url,
        )
        return self.submit(render, idempotency_key=idempotency_key)

    def status(self, job: JobRef) -> JobState:
        """GET /api/v1/videoresult/{id}: the job as it is now."""
        return core.job_view(self._call("GET", core.job_path(core.job_id_of(job))).content)

    def jobs(self, status: str | None = None, *, limit: int = 20, offset: int = 0) -> JobHistory:
        """GET /api/v1/videos: the caller's jobs, newest first, one page."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status
        return JobHistory.model_validate_json(self._call("GET", f"{core.API}/videos", params=params).content)

    def cancel(self, job: JobRef) -> JobState:
        """DELETE /api/v1/videoresult/{id}: stop the job (ConflictError if it already ended)."""
        return core.job_view(self._call("DELETE", core.job_path(core.job_id_of(job))).content)

    def follow(
        self,
        job: JobRef,
        *,
        via: Via = "sse",
        on_progress: OnProgress | None = None,
        interval: float = 1.0,
    ) -> Iterator[JobState]:
        """Each state of the job until it ends (the last one is terminal), by server-sent events,
        polling every `interval` seconds, or the WebSocket; `on_progress` is called with each."""
        job_id = core.job_id_of(job)
        states = {"sse": self._sse, "poll": self._poll, "websocket": self._websocket}[via](job_id, interval)
        for state in states:
            if on_progress is not None:
                on_progress(state)
            yield state

    def _sse(self, job_id: str, _: float) -> Iterator[JobState]:
        request = self._http.build_request(
            "GET", core.job_path(job_id, "/events"), timeout=httpx.Timeout(self.timeout, read=None)
        )
        response = self._send(request, stream=True)
        try:
            for line in response.iter_lines():
                if (data := core.sse_data(line)) is not None:
                    yield core.job_view(data)
        except httpx.TransportError as exc:
            raise TransportError(f"event stream of {job_id} broke: {exc!r}") from exc
        finally:
            response.close()

    def _poll(self, job_id: str, interval: float) -> Iterator[JobState]:
        last: JobState | None = None
        while True:
            state = self.status(job_id)
            if state != last:
                yield state
            if state.status in core.TERMINAL:
                return
            last = state
            time.sleep(interval)

    def _websocket(self, job_id: str, _: float) -> Iterator[JobState]:
        url = core.ws_url(self._http.base_url, f"/ws/jobs/{job_id}")
        for raw in self._socket(url):
            yield core.ws_frame_view(raw)

    def _socket(self, url: str) -> Iterator[str | bytes]:
        try:
            with connect(url, additional_headers=self._auth, open_timeout=self.timeout) as socket:
                with contextlib.suppress(ConnectionClosed):
                    yield from socket
                error = core.ws_error(socket.close_code, socket.close_reason or "")
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise TransportError(f"WebSocket {url}: {exc!r}") from exc
        if error is not None:
            raise error

    def wait(
        self,
        job: JobRef,
        *,
        timeout: float = 600.0,
        on_progress: OnProgress | None = None,
        interval: float = 1.0,
    ) -> JobCompleted:
        """Poll until the job ends (at once for an ended one): its result, or `JobFailedError` (failed
        or cancelled) with the job's error code, message and details; `WaitTimeoutError` after
        `timeout` seconds."""
        if isinstance(job, JobCompleted | JobFailed):
            return core.finished(job)
        job_id = core.job_id_of(job)
        deadline = time.monotonic() + timeout
        last: JobState | None = None
        while True:
            state = self.status(job_id)
            if on_progress is not None and state != last:
                on_progress(state)
            if state.status in core.TERMINAL:
                return core.finished(state)
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError(
                    f"job {job_id} did not end within {timeout} s", details={"job_id": job_id}
                )
            last = state
            time.sleep(interval)

    def download(self, result: str | JobCompleted | CompositionStatus, path: str | Path) -> Path:
        """Save a rendered video: a result or composition (through the API's download route, a fresh
        URL), a job id, or a result URL (the API key is sent only to the API's own origin)."""
        target = core.download_target(path)
        if isinstance(result, CompositionStatus):
            request = self._http.build_request(
                "GET", core.composition_path(result.composition_id, "/download")
            )
        elif isinstance(result, str) and core.is_url(result):
            request = self._http.build_request("GET", result)
            if not core.same_origin(request.url, self._http.base_url):
                for name in self._auth:
                    del request.headers[name]
        else:
            request = self._http.build_request("GET", core.job_path(core.job_id_of(result), "/download"))
        response = self._send(request, stream=True, redirects=True)
        try:
            with target.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        finally:
            response.close()
        return target

    # ---------------------------------------------------------------- templates

    def create_template(self, template: Body) -> TemplateView:
        """POST /api/v1/templates: a `TemplateBody` (name, spec with {{placeholders}}, defaults)."""
        response = self._call("POST", f"{core.API}/templates", json=core.dump(template))
        return TemplateView.model_validate_json(response.content)

    def templates(self, *, limit: int = 20, offset: int = 0) -> TemplateList:
        response = self._call("GET", f"{core.API}/templates", params={"limit": limit, "offset": offset})
        return TemplateList.model_validate_json(response.content)

    def template(self, template_id: str) -> TemplateView:
        return TemplateView.model_validate_json(self._call("GET", core.template_path(template_id)).content)

    def replace_template(self, template_id: str, template: Body) -> TemplateView:
        response = self._call("PUT", core.template_path(template_id), json=core.dump(template))
        return TemplateView.model_validate_json(response.content)

    def delete_template(self, template_id: str) -> None:
        self._call("DELETE", core.template_path(template_id))

    # ---------------------------------------------------------------- compositions

    def create_composition(
        self, composition: Body, *, idempotency_key: str | None = None
    ) -> CompositionAccepted:
        """POST /api/v1/compositions: a `CompositionRequest` (clips, audio, overlays, output)."""
        response = self._call(
            "POST",
            f"{core.API}/compositions/",
            json=core.dump(composition),
            headers=core.headers_for(idempotency_key),
        )
        return CompositionAccepted.model_validate_json(response.content)

    def composition(self, composition_id: str) -> CompositionStatus:
        response = self._call("GET", core.composition_path(composition_id))
        return CompositionStatus.model_validate_json(response.content)

    def composition_metadata(self, composition_id: str) -> CompositionMetadata:
        response = self._call("GET", core.composition_path(composition_id, "/metadata"))
        return CompositionMetadata.model_validate_json(response.content)

    def follow_composition(
        self, composition_id: str, *, on_progress: Callable[[WsMessage], object] | None = None
    ) -> Iterator[WsMessage]:
        """The composition's WebSocket messages (`progress`, then `completed` or `failed`)."""
        url = core.ws_url(self._http.base_url, f"/ws/compositions/{composition_id}")
        for raw in self._socket(url):
            message = core.ws_message(raw)
            if on_progress is not None:
                on_progress(message)
            yield message

    def wait_composition(
        self, composition_id: str, *, timeout: float = 600.0, interval: float = 1.0
    ) -> CompositionStatus:
        """Poll until the composition ends: its completed status, or `JobFailedError`."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.composition(composition_id)
            if status.status in core.TERMINAL:
                return core.composition_finished(status)
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError(
                    f"composition {composition_id} did not end within {timeout} s",
                    details={"composition_id": composition_id},
                )
            time.sleep(interval)
