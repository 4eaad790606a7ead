"""Request ids: take the caller's X-Request-ID (or make one), tag every log line with it, echo it.

It wraps the whole ASGI handler, outside Litestar's router, not as route middleware: route
middleware does not run when the router itself answers (404 unknown route, 405 wrong method),
and those error envelopes need the id too.
"""

from __future__ import annotations

import uuid

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from streams.jsonlog import request_id_var

REQUEST_ID_HEADER = b"x-request-id"
MAX_REQUEST_ID_LENGTH = 128


def with_request_id(app: ASGIApp) -> ASGIApp:
    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"").decode("latin-1")
        request_id = given[:MAX_REQUEST_ID_LENGTH] or uuid.uuid4().hex
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
