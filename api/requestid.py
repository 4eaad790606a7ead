"""Request ids: take the caller's X-Request-ID (or make one), tag every log line with it, echo it.
Only its visible ASCII characters are kept: the id is echoed as a header and written into logs
and Kafka records, where other bytes would be mangled or refused.

It wraps the whole ASGI handler, outside Litestar's router, not as route middleware: route
middleware does not run when the router itself answers (404 unknown route, 405 wrong method),
and those error envelopes need the id too.
"""

from __future__ import annotations

import re
import uuid

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from streams.jsonlog import request_id_var

REQUEST_ID_HEADER = b"x-request-id"
MAX_REQUEST_ID_LENGTH = 128
_NOT_VISIBLE_ASCII = re.compile(r"[^\x21-\x7e]")


def request_id_from(header: bytes) -> str:
    """The caller's id, cleaned and cut to MAX_REQUEST_ID_LENGTH, or a new one."""
    given = _NOT_VISIBLE_ASCII.sub("", header.decode("latin-1"))
    return given[:MAX_REQUEST_ID_LENGTH] or uuid.uuid4().hex


def with_request_id(app: ASGIApp) -> ASGIApp:
    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        request_id = request_id_from(dict(scope["headers"]).get(REQUEST_ID_HEADER, b""))
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)

    return handler
