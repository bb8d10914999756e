"""Shared helpers: engines talking purely in memory, with an injectable clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from justirc_sdk.crypto import CryptoEngine, EngineConfig
from justirc_sdk.crypto import _primitives as prim
from tests._clock import FakeClock as FakeClock


def snapshot(engine: CryptoEngine) -> str:
    """The engine's full state as canonical JSON, to assert 'state unchanged'."""
    return json.dumps(engine.export_state(), sort_keys=True)


def introduce(*engines: CryptoEngine) -> None:
    """Every engine pins every other's bundle (as if fetched through the server)."""
    for a in engines:
        for b in engines:
            if a is not b:
                a.add_bundle(b.nick, b.bundle())


class Net:
    """Routes payloads between in-memory engines, like the session layer would."""

    def __init__(self, *engines: CryptoEngine) -> None:
        self.by_nick = {e.nick: e for e in engines}

    def join(self, channel: str, *nicks: str) -> None:
        for n in nicks:
            others = [m for m in nicks if m != n]
            self.distribute(n, channel, others)

    def distribute(self, nick: str, channel: str, members: list[str] | None = None) -> None:
        dist = self.by_nick[nick].channel_prepare_send(channel, members)
        for peer, payload in dist.payloads:
            result = self.by_nick[peer].handle_control(nick, payload)
            assert result.accepted, result

    def say(self, nick: str, channel: str, text: bytes) -> str:
        return self.by_nick[nick].encrypt_channel(channel, text)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make(clock: FakeClock) -> Callable[..., CryptoEngine]:
    def factory(nick: str, **cfg: object) -> CryptoEngine:
        return CryptoEngine.create(nick, config=EngineConfig(**cfg), clock=clock)  # type: ignore[arg-type]

    return factory


@pytest.fixture
def trio(make: Callable[..., CryptoEngine]) -> tuple[CryptoEngine, CryptoEngine, CryptoEngine]:
    a, b, c = make("alice"), make("bob"), make("carol")
    introduce(a, b, c)
    return a, b, c


@pytest.fixture
def seals() -> Iterator[list[tuple[bytes, bytes]]]:
    """Every (key, nonce) pair passed to ChaCha20-Poly1305 while the test runs."""
    seen: list[tuple[bytes, bytes]] = []
    prim.set_seal_observer(lambda k, n: seen.append((k, n)))
    try:
        yield seen
    finally:
        prim.set_seal_observer(None)
