"""Dead letters that always fit on the broker: the raw bytes when there is room, a reference
(topic, partition, offset, size, hash) with an excerpt when there is not. A letter that cannot be
sent would leave the message neither handled nor recorded."""

from __future__ import annotations

import base64
import hashlib

from schemas.events import DeadLetter
from streams.codec import encode

EXCERPT_CHARS = 2_000
# What the letter's own fields and Kafka's record framing may take besides the value.
ENVELOPE_BYTES = 4_096


def build_dead_letter(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    reason: str,
    job_id: str | None,
    max_bytes: int,
) -> DeadLetter:
    raw = value or b""
    try:
        text, exact = raw.decode("utf-8"), None
    except UnicodeDecodeError:
        text, exact = raw.decode("utf-8", "replace"), base64.b64encode(raw).decode()
    letter = DeadLetter(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key[:1_000].decode("utf-8", "replace") if key else None,
        value=text,
        value_base64=exact,
        value_bytes=len(raw),
        value_sha256=hashlib.sha256(raw).hexdigest(),
        reason=reason[:EXCERPT_CHARS],
        job_id=job_id,
    )
    if len(encode(letter)) + ENVELOPE_BYTES <= max_bytes:
        return letter
    return letter.model_copy(
        update={
            "value": text[:EXCERPT_CHARS],
            "value_base64": None,
            "value_truncated": True,
            "reason": f"{letter.reason} (value of {len(raw)} bytes too big to dead-letter whole: "
            "read it at its topic, partition and offset)",
        }
    )
