"""Fixtures for SDK tests: a real embedded server, sessions on asyncio and trio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from server.embedded import EmbeddedServer
from tests._sessions import Connect as Connect
from tests._sessions import sessions


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path / "data") as srv:
        yield srv


@pytest.fixture
async def connect(server: EmbeddedServer) -> AsyncIterator[Connect]:
    """``await connect("alice")``: a session on the test server, closed at the end."""
    async with sessions("127.0.0.1", server.port) as make:
        yield make
