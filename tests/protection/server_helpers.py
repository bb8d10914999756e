"""Helpers for protection tests that run a real embedded server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from server.embedded import EmbeddedServer
from tests._clock import FakeClock as Clock
from tests.server.client import RawClient

PASSWORD = "correct horse battery"


@contextmanager
def running(tmp_path: Path, clock: Clock | None = None, **config: Any) -> Iterator[EmbeddedServer]:
    kwargs: dict[str, Any] = {} if clock is None else {"clock": clock}
    with EmbeddedServer(tmp_path / "data", **kwargs, **config) as srv:
        yield srv


def client(srv: EmbeddedServer, nick: str | None = None) -> RawClient:
    c = RawClient(srv.port)
    assert c.hello()["type"] == "welcome"
    if nick is not None:
        reply = c.register(nick)
        assert reply["type"] == "registered", reply
    return c


def with_account(srv: EmbeddedServer, nick: str, password: str = PASSWORD) -> RawClient:
    c = client(srv, nick)
    reply = c.request({"type": "create_account", "password": password})
    assert reply["type"] == "logged_in", reply
    return c


def lock_out(srv: EmbeddedServer, account: str, failures: int = 5) -> None:
    """Fail *failures* password logins to *account* from one connection (the default
    locks the pair of account and source)."""
    guesser = client(srv)
    for _ in range(failures):
        reply = guesser.request({"type": "login", "account": account, "password": "wrong-guess"})
        assert reply["code"] == "bad_password", reply
    guesser.close()
