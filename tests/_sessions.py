"""Shared test helper: open SDK sessions that are all closed when the test ends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from justirc_sdk import Session

Connect = Callable[..., Any]


@asynccontextmanager
async def sessions(host: str, port: int, **defaults: Any) -> AsyncIterator[Connect]:
    """Yield ``make(nick, **options)`` connecting sessions to *host*:*port*.

    *defaults* are options every session gets unless the call overrides them.
    """
    async with AsyncExitStack() as stack:

        async def make(nick: str, **options: Any) -> Session:
            session = await Session.connect(host, port, nick=nick, **{**defaults, **options})
            stack.push_async_callback(session.close)
            return session

        yield make
