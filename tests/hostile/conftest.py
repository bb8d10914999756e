"""Fixtures: a real embedded server, the hostile relay in front of it, sessions through it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from server.embedded import EmbeddedServer
from tests._sessions import Connect as Connect
from tests._sessions import sessions

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


@pytest.fixture
async def connect(relay: Relay) -> AsyncIterator[Connect]:
    """``await connect("alice")``: a session that talks to the server through the relay."""
    async with sessions("127.0.0.1", relay.port, reconnect=False) as make:
        yield make
