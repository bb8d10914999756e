"""Fixtures for panel tests: a real embedded server and sessions on the asyncio loop.

The panel runs on the kernel's asyncio loop, so these tests run on asyncio only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from justirc_sdk import Session
from server.embedded import EmbeddedServer
from tests._sessions import Connect as Connect
from tests._sessions import sessions
from widgets import ChatPanel


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path / "data", rate_messages=(5000.0, 5000.0)) as srv:
        yield srv


@pytest.fixture
async def connect(server: EmbeddedServer) -> AsyncIterator[Connect]:
    """``await connect("alice")``: a session on the test server, closed at the end."""
    async with sessions("127.0.0.1", server.port) as make:
        yield make


@pytest.fixture
async def make_panel() -> AsyncIterator[Callable[[Session], ChatPanel]]:
    """Build panels that are closed at the end of the test."""
    panels: list[ChatPanel] = []

    def make(session: Session) -> ChatPanel:
        panel = ChatPanel(session, flush_interval=0.02)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        await panel.aclose()
