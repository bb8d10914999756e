"""Fixtures for the terminal client: a real server, SDK peers, clients with a list as screen."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from justirc_cli.client import ChatClient
from justirc_cli.formatting import Line, plain
from justirc_sdk import Session
from server.embedded import EmbeddedServer
from tests._sessions import Connect as Connect
from tests._sessions import sessions


@pytest.fixture
def anyio_backend() -> str:
    """The client is asyncio-only (prompt_toolkit is)."""
    return "asyncio"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path / "data") as srv:
        yield srv


class Screen:
    """What a user of the client sees: every displayed line, as plain text."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.styled: list[Line] = []
        self._changed = anyio.Event()

    def __call__(self, line: Line) -> None:
        self.styled.append(line)
        self.lines.append(plain(line))
        self._changed.set()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def mark(self) -> int:
        """The position after which :meth:`wait_for` looks."""
        return len(self.lines)

    def since(self, mark: int) -> str:
        return "\n".join(self.lines[mark:])

    async def wait_for(self, needle: str, since: int = 0, timeout: float = 10) -> str:
        """Wait until a line containing *needle* is shown (after line *since*); return it."""
        seen = since
        with anyio.move_on_after(timeout):
            while True:
                for line in self.lines[seen:]:
                    if needle in line:
                        return line
                seen = len(self.lines)
                self._changed = anyio.Event()
                await self._changed.wait()
        raise AssertionError(f"{needle!r} was not shown; the screen:\n{self.since(since)}")


class Term:
    """A running :class:`ChatClient` and its screen."""

    def __init__(self, client: ChatClient, screen: Screen) -> None:
        self.client = client
        self.screen = screen

    @property
    def session(self) -> Session:
        return self.client.session

    async def type(self, line: str) -> str:
        """Run *line* as if typed; return what it displayed."""
        mark = self.screen.mark()
        await self.client.handle_line(line)
        return self.screen.since(mark)


OpenTerm = Callable[..., Any]


@pytest.fixture
async def connect(server: EmbeddedServer) -> AsyncIterator[Connect]:
    """``await connect("bob")``: a plain SDK session (the other person), closed at the end."""
    async with sessions("127.0.0.1", server.port) as make:
        yield make


@pytest.fixture
def open_term(server: EmbeddedServer, tmp_path: Path) -> OpenTerm:
    """``async with open_term("alice") as term:``: a client showing its events on a Screen."""

    @asynccontextmanager
    async def make(nick: str, **options: Any) -> AsyncIterator[Term]:
        session = await Session.connect("127.0.0.1", server.port, nick=nick, **options)
        screen = Screen()
        client = ChatClient(session, output=screen, download_dir=tmp_path / f"dl-{nick}")
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(client.run_events)
                yield Term(client, screen)
                await session.close()
        finally:
            await session.close()

    return make
