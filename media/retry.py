"""The one retry policy of the service, on tenacity: exponential backoff with jitter.

Every retry loop (source downloads, callbacks, uploads, the analytics flush, topic creation)
builds its retrier here, so the policy is said once: the n-th wait is `first_delay * 2**(n-1)`
capped at `cap`, plus a random share of up to one first delay, so workers that failed together
(a broker or store coming back after a crash) do not retry in lockstep. A first delay of 0 makes
every wait 0 (tests). Between attempts a line is logged without secrets: URLs in the failure's
text go through `media.netguard.redact`. No Faust here: the API and the CLI use it too.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_never,
    wait_exponential,
    wait_none,
    wait_random,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from media.netguard import redact

log = logging.getLogger(__name__)

_URL = re.compile(r"[a-z][a-z0-9+.\-]*://[^\s\"'<>]+", re.IGNORECASE)

Retryable = Callable[[BaseException], bool]


def backoff(first_delay: float, cap: float) -> wait_base:
    """Exponential from `first_delay` up to `cap`, plus up to one first delay of jitter."""
    if first_delay <= 0:
        return wait_none()
    return wait_exponential(multiplier=first_delay, max=cap) + wait_random(0, min(first_delay, cap))


def describe(exc: BaseException | None) -> str:
    """An exception as a log may show it: its type and text, every URL in it redacted."""
    if exc is None:
        return "no exception"
    text = _URL.sub(lambda m: redact(m.group(0)), str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _stop(attempts: int | None) -> stop_base:
    return stop_never if attempts is None else stop_after_attempt(max(1, attempts))


def _before_sleep(what: str, attempts: int | None, level: int) -> Callable[[RetryCallState], None]:
    """Log the failed attempt; `what` must already be free of secrets (redact URLs first)."""
    of = f" of {max(1, attempts)}" if attempts is not None else ""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.log(
            level,
            "%s failed (attempt %d%s), retrying in %.1fs: %s",
            what,
            state.attempt_number,
            of,
            wait,
            describe(exc),
        )

    return before_sleep


def async_retrying(
    *,
    attempts: int | None,
    first_delay: float,
    cap: float,
    retry_on: Retryable,
    what: str,
    level: int = logging.WARNING,
) -> AsyncRetrying:
    """A retrier for coroutines: `await async_retrying(...)(fn, *args)`.

    `attempts` counts the first try (None: until cancelled); an exception `retry_on` rejects,
    or the last one, is re-raised as it is.
    """
    return AsyncRetrying(
        stop=_stop(attempts),
        wait=backoff(first_delay, cap),
        retry=retry_if_exception(retry_on),
        before_sleep=_before_sleep(what, attempts, level),
        reraise=True,
    )


def retrying(
    *,
    attempts: int | None,
    first_delay: float,
    cap: float,
    retry_on: Retryable,
    what: str,
    level: int = logging.WARNING,
    sleep: Callable[[float], None] = time.sleep,
) -> Retrying:
    """The same policy for blocking code run in a thread: `retrying(...)(fn, *args)`."""
    return Retrying(
        stop=_stop(attempts),
        wait=backoff(first_delay, cap),
        retry=retry_if_exception(retry_on),
        before_sleep=_before_sleep(what, attempts, level),
        reraise=True,
        sleep=sleep,
    )
