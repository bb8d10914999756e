"""Waiting out the server's rate limits instead of failing.

The server answers a sender that goes too fast with ``rate_limited`` and a
``retry_after``; :func:`retry_rate_limited` sleeps that long and tries again, a few
times, before giving up with the last :class:`~justirc_sdk.errors.RateLimited`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from justirc_sdk.errors import RateLimited

__all__ = ["retry_rate_limited"]

_log = logging.getLogger(__name__)
T = TypeVar("T")


async def retry_rate_limited(
    send: Callable[[], Awaitable[T]],
    *,
    attempts: int = 5,
    max_delay: float = 30.0,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> T:
    """Call ``send()``; on :class:`RateLimited` wait ``retry_after`` and call it again.

    At most *attempts* calls in all; each wait is capped at *max_delay* seconds.
    *sleep* is replaceable for tests.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            return await send()
        except RateLimited as exc:
            if attempt == attempts:
                raise
            delay = min(max(exc.retry_after, 0.0), max_delay)
            _log.info("rate limited by the server; retrying in %.2f s", delay)
            await sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
