"""A real WebSocket client that follows a progress socket to its close."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def follow(url: str, headers: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], int, str]:
    """Every message until the server closes, and the close code and reason."""
    messages: list[dict[str, Any]] = []
    async with connect(url, additional_headers=headers, open_timeout=10) as socket:
        try:
            async with asyncio.timeout(180):
                async for raw in socket:
                    messages.append(orjson.loads(raw))
        except ConnectionClosed:
            pass
        assert socket.close_code is not None
        return messages, socket.close_code, socket.close_reason or ""
