"""Progress over WebSockets: `WS /ws/jobs/{job_id}` (the same messages as the job's SSE stream) and
`WS /ws/compositions/{composition_id}` (the compositions API's `progress`, then `completed` or
`failed` messages). Both admit a socket and end it alike.

Every API instance folds every job event (api/jobstore.py), so any number of sockets on any
instance follow any job. The socket is accepted before the checks so that a browser sees why it
is closed: a rejected handshake only shows as 1006 with no reason. Close codes are 4000 + the
HTTP status the same failure has elsewhere (4401 no or bad key, 4429 rate limited, 4404 unknown
or another tenant's job); 1000 after the terminal message.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing

import orjson
from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.handlers import send_websocket_stream
from litestar.params import FromPath
from litestar.status_codes import WS_1000_NORMAL_CLOSURE

from api.auth import Authenticator, presented_key
from api.composition_routes import find_composition
from api.compositions import ws_message
from api.errors import HTTP_STATUS, ApiError
from api.jobservice import JobService
from api.ratelimit import RateLimit
from api.routes import job_message
from schemas.compositions import WsMessage
from schemas.errors import ErrorCode

CLOSE_CODE_BASE = 4000
MAX_CLOSE_REASON_BYTES = 123  # RFC 6455: a close frame's payload is at most 125 bytes
REASONS = {ErrorCode.UNAUTHORIZED: "a valid API key is required (Authorization, X-API-Key or ?api_key=)"}


def close_code(error: ApiError) -> int:
    return CLOSE_CODE_BASE + HTTP_STATUS.get(error.code, 500)


def close_reason(text: str) -> str:
    return text.encode()[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")


def frame(sequence: int, event: str, data: str) -> str:
    """{"id", "event", "data"}: SSE's fields, `data` being the GET's JSON (as an object)."""
    return orjson.dumps({"id": sequence, "event": event, "data": orjson.Fragment(data)}).decode()


async def _frames(service: JobService, job_id: str) -> AsyncGenerator[str, None]:
    sequence = 0
    async with aclosing(service.follow(job_id)) as states:
        async for state in states:
            sequence += 1
            yield frame(sequence, *job_message(state))


async def _composition_messages(service: JobService, composition_id: str) -> AsyncGenerator[str, None]:
    """One message per state change: a state that changes nothing but the time is not repeated."""
    last: WsMessage | None = None
    async with aclosing(service.follow(composition_id)) as states:
        async for state in states:
            message = ws_message(state, *service.result_urls(state))
            timeless = message.model_copy(update={"data": message.data.model_copy(update={"timestamp": ""})})
            if timeless != last:
                last = timeless
                yield message.model_dump_json()


async def _admitted(
    socket: WebSocket,
    authenticator: Authenticator,
    rate_limit: RateLimit,
    found: Callable[[str | None], Awaitable[bool]],
    not_found: ApiError,
) -> bool:
    """Accept, then authenticate, rate-limit and look the job up; a refusal closes with its code."""
    await socket.accept()
    try:
        tenant = authenticator.tenant(presented_key(socket.headers, socket.query_params))
        rate_limit.admit(tenant)
        if not await found(tenant):
            raise not_found
    except ApiError as exc:
        await socket.close(close_code(exc), close_reason(REASONS.get(exc.code, exc.message)))
        return False
    return True


async def _stream(socket: WebSocket, messages: AsyncGenerator[str, None], reason: str) -> None:
    """Each message until the job ends, then a normal close (unless the client left first)."""
    await send_websocket_stream(
        socket, messages, close=False, listen_for_disconnect=True, warn_on_data_discard=False
    )
    if socket.connection_state != "disconnect":
        await socket.close(WS_1000_NORMAL_CLOSURE, reason)


@websocket("/ws/jobs/{job_id:str}")
async def job_progress(
    socket: WebSocket,
    job_id: FromPath[str],
    service: NamedDependency[JobService],
    authenticator: NamedDependency[Authenticator],
    rate_limit: NamedDependency[RateLimit],
) -> None:
    """Each state of the job as a text message until it ends, then a normal close."""

    async def found(tenant: str | None) -> bool:
        return await service.find(job_id, tenant) is not None

    if await _admitted(
        socket, authenticator, rate_limit, found, ApiError(ErrorCode.NOT_FOUND, "job not found")
    ):
        await _stream(socket, _frames(service, job_id), "job ended")


@websocket("/ws/compositions/{composition_id:str}")
async def composition_progress(
    socket: WebSocket,
    composition_id: FromPath[str],
    service: NamedDependency[JobService],
    authenticator: NamedDependency[Authenticator],
    rate_limit: NamedDependency[RateLimit],
) -> None:
    """`progress` messages until the composition ends, then `completed` or `failed`, then a normal close."""

    async def found(tenant: str | None) -> bool:
        return await find_composition(service, composition_id, tenant) is not None

    missing = ApiError(ErrorCode.COMPOSITION_NOT_FOUND, "composition not found")
    if await _admitted(socket, authenticator, rate_limit, found, missing):
        await _stream(socket, _composition_messages(service, composition_id), "composition ended")
