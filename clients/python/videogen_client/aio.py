"""The asynchronous client: `Client`'s methods as coroutines (and async iterators to follow a job)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from videogen_client import _core as core
from videogen_client._core import Body, JobRef, Retries, Via
from videogen_client.client import DEFAULT_URL, JobState
from videogen_client.errors import TransportError, WaitTimeoutError
from videogen_client.models import (
    CompositionAccepted,
    CompositionMetadata,
    CompositionStatus,
    JobAccepted,
    JobCompleted,
    JobFailed,
    JobHistory,
    TemplateList,
    TemplateRender,
    TemplateView,
    WsMessage,
)

OnProgress = Callable[[JobState], object | Awaitable[object]]


async def _call_back(callback: Callable[[Any], object] | None, value: object) -> None:
    """Call a progress callback, awaiting it when it is a coroutine function."""
    if callback is not None and inspect.isawaitable(result := callback(value)):
        await result


class AsyncClient:
    """`Client` for asyncio: the same methods, awaited; `follow` is an async iterator and
    `on_progress` may be a coroutine function."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: Retries | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._auth = auth
        self.retries = retries or Retries()
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={**(headers or {}), **auth},
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---------------------------------------------------------------- transport

    async def _send(
        self, request: httpx.Request, *, stream: bool = False, redirects: bool = False
    ) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.send(request, stream=stream, follow_redirects=redirects)
            except httpx.TransportError as exc:
                wait = core.transport_wait(self.retries, attempt, request, exc)
                if wait is None:
                    raise TransportError(f"{request.method} {request.url}: {exc!r}") from exc
            else:
                wait = core.response_wait(self.retries, attempt, response)
                if wait is None:
                    if response.is_error and stream:
                        await response.aread()
                        await response.aclose()
                    return core.checked(response)
                await response.aclose()
            await asyncio.sleep(wait)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        request = self._http.build_request(method, path, json=json, params=params, headers=headers)
        return await self._send(request)

    # ---------------------------------------------------------------- jobs

    async def submit(self, spec: Body, *, idempotency_key: str | None = None) -> JobCompleted | JobAccepted:
        response = await self._call(
            "POST", f"{core.API}/videocreate", json=core.dump(spec), headers=core.headers_for(idempotency_key)
        )
        return core.submitted(response)

    async def render_template(
        self,
        template_id: str,
        merge: dict[str, str | int | float | bool] | None = None,
        modifications: dict[str, Any] | None = None,
        *,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> JobCompleted | JobAccepted:
        render = TemplateRender(
            template_id=template_id,
            merge=merge or {},
            modifications=modifications or {},
            callback_url=callback_url,
        )
        return await self.submit(render, idempotency_key=idempotency_key)

    async def status(self, job: JobRef) -> JobState:
        return core.job_view((await self._call("GET", core.job_path(core.job_id_of(job)))).content)

    async def jobs(self, status: str | None = None, *, limit: int = 20, offset: int = 0) -> JobHistory:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status
        response = await self._call("GET", f"{core.API}/videos", params=params)
        return JobHistory.model_validate_json(response.content)

    async def cancel(self, job: JobRef) -> JobState:
        return core.job_view((await self._call("DELETE", core.job_path(core.job_id_of(job)))).content)

    async def follow(
        self,
        job: JobRef,
        *,
        via: Via = "sse",
        on_progress: OnProgress | None = None,
        interval: float = 1.0,
    ) -> AsyncIterator[JobState]:
        job_id = core.job_id_of(job)
        states = {"sse": self._sse, "poll": self._poll, "websocket": self._websocket}[via](job_id, interval)
        async for state in states:
            await _call_back(on_progress, state)
            yield state

    async def _sse(self, job_id: str, _: float) -> AsyncIterator[JobState]:
        request = self._http.build_request(
            "GET", core.job_path(job_id, "/events"), timeout=httpx.Timeout(self.timeout, read=None)
        )
        response = await self._send(request, stream=True)
        try:
            async for line in response.aiter_lines():
                if (data := core.sse_data(line)) is not None:
                    yield core.job_view(data)
        except httpx.TransportError as exc:
            raise TransportError(f"event stream of {job_id} broke: {exc!r}") from exc
        finally:
            await response.aclose()

    async def _poll(self, job_id: str, interval: float) -> AsyncIterator[JobState]:
        last: JobState | None = None
        while True:
            state = await self.status(job_id)
            if state != last:
                yield state
            if state.status in core.TERMINAL:
                return
            last = state
            await asyncio.sleep(interval)

    async def _websocket(self, job_id: str, _: float) -> AsyncIterator[JobState]:
        url = core.ws_url(self._http.base_url, f"/ws/jobs/{job_id}")
        async for raw in self._socket(url):
            yield core.ws_frame_view(raw)

    async def _socket(self, url: str) -> AsyncIterator[str | bytes]:
        try:
            async with connect(url, additional_headers=self._auth, open_timeout=self.timeout) as socket:
                with contextlib.suppress(ConnectionClosed):
                    async for raw in socket:
                        yield raw
                error = core.ws_error(socket.close_code, socket.close_reason or "")
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise TransportError(f"WebSocket {url}: {exc!r}") from exc
        if error is not None:
            raise error

    async def wait(
        self,
        job: JobRef,
        *,
        timeout: float = 600.0,
        on_progress: OnProgress | None = None,
        interval: float = 1.0,
    ) -> JobCompleted:
        if isinstance(job, JobCompleted | JobFailed):
            return core.finished(job)
        job_id = core.job_id_of(job)
        deadline = time.monotonic() + timeout
        last: JobState | None = None
        while True:
            state = await self.status(job_id)
            if state != last:
                await _call_back(on_progress, state)
            if state.status in core.TERMINAL:
                return core.finished(state)
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError(
                    f"job {job_id} did not end within {timeout} s", details={"job_id": job_id}
                )
            last = state
            await asyncio.sleep(interval)

    async def download(self, result: str | JobCompleted | CompositionStatus, path: str | Path) -> Path:
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
        response = await self._send(request, stream=True, redirects=True)
        try:
            with target.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
        finally:
            await response.aclose()
        return target

    # ---------------------------------------------------------------- templates

    async def create_template(self, template: Body) -> TemplateView:
        response = await self._call("POST", f"{core.API}/templates", json=core.dump(template))
        return TemplateView.model_validate_json(response.content)

    async def templates(self, *, limit: int = 20, offset: int = 0) -> TemplateList:
        response = await self._call("GET", f"{core.API}/templates", params={"limit": limit, "offset": offset})
        return TemplateList.model_validate_json(response.content)

    async def template(self, template_id: str) -> TemplateView:
        response = await self._call("GET", core.template_path(template_id))
        return TemplateView.model_validate_json(response.content)

    async def replace_template(self, template_id: str, template: Body) -> TemplateView:
        response = await self._call("PUT", core.template_path(template_id), json=core.dump(template))
        return TemplateView.model_validate_json(response.content)

    async def delete_template(self, template_id: str) -> None:
        await self._call("DELETE", core.template_path(template_id))

    # ---------------------------------------------------------------- compositions

    async def create_composition(
        self, composition: Body, *, idempotency_key: str | None = None
    ) -> CompositionAccepted:
        response = await self._call(
            "POST",
            f"{core.API}/compositions/",
            json=core.dump(composition),
            headers=core.headers_for(idempotency_key),
        )
        return CompositionAccepted.model_validate_json(response.content)

    async def composition(self, composition_id: str) -> CompositionStatus:
        response = await self._call("GET", core.composition_path(composition_id))
        return CompositionStatus.model_validate_json(response.content)

    async def composition_metadata(self, composition_id: str) -> CompositionMetadata:
        response = await self._call("GET", core.composition_path(composition_id, "/metadata"))
        return CompositionMetadata.model_validate_json(response.content)

    async def follow_composition(
        self,
        composition_id: str,
        *,
        on_progress: Callable[[WsMessage], object | Awaitable[object]] | None = None,
    ) -> AsyncIterator[WsMessage]:
        url = core.ws_url(self._http.base_url, f"/ws/compositions/{composition_id}")
        async for raw in self._socket(url):
            message = core.ws_message(raw)
            await _call_back(on_progress, message)
            yield message

    async def wait_composition(
        self, composition_id: str, *, timeout: float = 600.0, interval: float = 1.0
    ) -> CompositionStatus:
        deadline = time.monotonic() + timeout
        while True:
            status = await self.composition(composition_id)
            if status.status in core.TERMINAL:
                return core.composition_finished(status)
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError(
                    f"composition {composition_id} did not end within {timeout} s",
                    details={"composition_id": composition_id},
                )
            await asyncio.sleep(interval)
