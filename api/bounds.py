"""Bounds on what one request may make the API do: how deep its JSON nests, how big its integers
are, and how big the Kafka records it becomes may be.

The body is checked on its raw bytes, before any decoder or validator sees it: msgspec, pydantic
and the template code all recurse, and a body nested thousands of levels deep would hit Python's
recursion limit (a 500) in whichever came first; an integer past 64 bits would pass validation and
then fail to encode on its way to Kafka. Record sizes are checked before anything of a request is
published, so a job too big for the broker is refused whole instead of leaving a `queued` event
behind without its request.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from litestar import Request

from api.errors import ApiError
from schemas.errors import ErrorCode

MAX_JSON_DEPTH = 64
"""Arrays and objects nested in a request body, the outermost one counting 1. A video spec needs
about 6 (spec, elements, element, keyframes, keyframe); a template inside a body one more."""

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what orjson, and so every Kafka record, can carry
MAX_SHOWN_PATH = 200  # characters of a field path quoted in an error
MAX_SHOWN_KEY = 64  # characters of one object key in that path

# A JSON string (escapes included), matched whole so that nothing in text counts; a bracket; an
# integer of 19 digits or more (not a float's fraction or exponent).
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_LONG_INTEGER = rb"(?<![\d.eE+\-])-?\d{19,}(?![\d.eE])"
_SCANNED = re.compile(_STRING + rb"|[\[\]{}]|" + _LONG_INTEGER, re.DOTALL)
_STRUCTURE = re.compile(_STRING + rb"|[\[\]{},:]", re.DOTALL)
_DIGITS = re.compile(rb"\d{19}")
_OPENING, _CLOSING, _QUOTE = frozenset(b"[{"), frozenset(b"]}"), ord('"')


def _problem_at(body: bytes, limit: int) -> tuple[int, str] | None:
    """The offset of the first value nested deeper than `limit` or holding an integer past 64
    bits, with what is wrong; None when there is none."""
    if body.count(b"[") + body.count(b"{") <= limit and _DIGITS.search(body) is None:
        return None
    depth = 0
    for match in _SCANNED.finditer(body):
        first = body[match.start()]
        if first in _OPENING:
            depth += 1
            if depth > limit:
                return match.start(), f"nested deeper than {limit} levels of arrays and objects"
        elif first in _CLOSING:
            depth -= 1
        elif first != _QUOTE and not _fits_64_bits(match.group()):
            return match.start(), "integer out of range: at most 64 bits (±9223372036854775807)"
    return None


def _fits_64_bits(integer: bytes) -> bool:
    """Digits are counted first: int() refuses strings of thousands of digits outright."""
    return len(integer.lstrip(b"-")) <= len(str(INT64_MAX)) and INT64_MIN <= int(integer) <= INT64_MAX


def _key(token: bytes) -> str:
    try:
        key = orjson.loads(token)
    except orjson.JSONDecodeError:
        key = token[1:-1].decode(errors="replace")
    text = str(key)
    return text if len(text) <= MAX_SHOWN_KEY else text[:MAX_SHOWN_KEY] + "…"


def _path_before(body: bytes, end: int) -> list[str | int]:
    """The keys and indexes of the containers open at offset `end`: where the value starting
    there sits. Iterative, like `_problem_at`: this runs on bodies that recursion cannot read."""
    path: list[str | int] = []
    in_array: list[bool] = []
    expect_key = False
    for match in _STRUCTURE.finditer(body, 0, end):
        token = match.group()
        if token in (b"{", b"["):
            in_array.append(token == b"[")
            path.append(0 if token == b"[" else "")
            expect_key = token == b"{"
        elif token in (b"}", b"]"):
            if in_array:
                in_array.pop()
                path.pop()
            expect_key = False
        elif token == b",":
            if in_array and in_array[-1]:
                path[-1] = int(path[-1]) + 1
            expect_key = bool(in_array) and not in_array[-1]
        elif token == b":":
            expect_key = False
        elif expect_key and path:
            path[-1] = _key(token)
    return path


def shown_path(path: list[str | int]) -> str:
    """A dotted field path, shortened for an error message."""
    dotted = ".".join(map(str, path)) or "body"
    return dotted if len(dotted) <= MAX_SHOWN_PATH else dotted[:MAX_SHOWN_PATH] + "…"


def check_json_body(body: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """400 INVALID_INPUT naming where a body nests deeper than `limit` arrays and objects, or
    holds an integer past 64 bits."""
    found = _problem_at(body, limit)
    if found is None:
        return
    offset, message = found
    field = shown_path(_path_before(body, offset))
    raise ApiError(
        ErrorCode.INVALID_INPUT,
        f"invalid request: {field}: {message}",
        {"fields": [{"field": field, "message": message}]},
    )


class BoundedRequest(Request[Any, Any, Any]):
    """The app's request: its JSON body is checked (depth, integers) before it is decoded."""

    async def json(self) -> Any:
        check_json_body(await self.body())
        return await super().json()


def record_size(key: bytes, value: bytes) -> int:
    """A record's size as aiokafka's producer checks it against `max_request_size`: value, key
    and the record batch's overhead."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, []))


def check_record_size(what: str, key: bytes, value: bytes, limit: int) -> None:
    """413 PAYLOAD_TOO_LARGE when `what` (a job, a template) would be a record over `limit`
    (KAFKA_MAX_MESSAGE_BYTES), which the broker would refuse after the answer was promised."""
    size = record_size(key, value)
    if size <= limit:
        return
    raise ApiError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"{what} would be a {size}-byte Kafka message, over KAFKA_MAX_MESSAGE_BYTES ({limit}): host "
        "subtitles as an SRT or WebVTT file (a subtitles element's source) and long text as an image "
        "instead of inline, or raise KAFKA_MAX_MESSAGE_BYTES together with the broker's message.max.bytes",
        {"message_bytes": size, "limit_bytes": limit, "setting": "KAFKA_MAX_MESSAGE_BYTES"},
    )
