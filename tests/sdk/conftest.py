"""Fixtures for SDK tests: a real embedded server, sessions on asyncio and trio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from justirc_sdk import Session
from server.embedded import EmbeddedServer


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path / "data") as srv:
        yield srv


Connect = Callable[..., Any]


@pytest.fixture
async def connect(server: EmbeddedServer) -> AsyncIterator[Connect]:
    """``await connect("alice")``: a session on the test server, closed at the end."""
    async with AsyncExitStack() as stack:

        async def make(nick: str, **options: Any) -> Session:
            session = await Session.connect("127.0.0.1", server.port, nick=nick, **options)
            stack.push_async_callback(session.close)
            return session

        yield make
