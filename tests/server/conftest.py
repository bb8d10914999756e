"""Fixtures: an embedded server on a free port and registered raw clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server.embedded import EmbeddedServer
from tests._clock import FakeClock

from .client import RawClient


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(tmp_path: Path, clock: FakeClock) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path / "data", clock=clock) as srv:
        yield srv


Connect = Callable[..., RawClient]


@pytest.fixture
def connect(server: EmbeddedServer) -> Iterator[Connect]:
    """Open raw clients to the server; all are closed at the end of the test."""
    clients: list[RawClient] = []

    def _connect(**kwargs: object) -> RawClient:
        client = RawClient(server.port, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        client.close()


User = Callable[[str], RawClient]


@pytest.fixture
def user(connect: Connect) -> User:
    """A connected, hello'd and registered client with the given nick."""

    def _user(nick: str) -> RawClient:
        client = connect()
        assert client.hello()["type"] == "welcome"
        reply = client.register(nick)
        assert reply["type"] == "registered", reply
        return client

    return _user
