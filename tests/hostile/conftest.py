"""Fixtures: a real embedded server, the hostile relay in front of it, sessions through it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from justirc_sdk import Session
from server.embedded import EmbeddedServer

from .relay import Relay


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path / "data") as srv:
        yield srv


@pytest.fixture
def relay(server: EmbeddedServer) -> Iterator[Relay]:
    with Relay("127.0.0.1", server.port) as proxy:
        yield proxy


Connect = Callable[..., Any]


@pytest.fixture
async def connect(relay: Relay) -> AsyncIterator[Connect]:
    """``await connect("alice")``: a session that talks to the server through the relay."""
    async with AsyncExitStack() as stack:

        async def make(nick: str, **options: Any) -> Session:
            options.setdefault("reconnect", False)
            session = await Session.connect("127.0.0.1", relay.port, nick=nick, **options)
            stack.push_async_callback(session.close)
            return session

        yield make
