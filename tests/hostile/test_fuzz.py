"""Fuzzing a live server with frames from registered clients: valid, mutated and random.

One server per test function, reused across hypothesis examples. After each batch a healthy
client must get its ``pong``; at the end the server must still run and must never have logged
a traceback (or anything at ERROR) for client input.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from justirc_sdk.protocol import FRAME_TYPES
from server.embedded import EmbeddedServer
from tests.server.client import RawClient

from .support import LogCapture, capture_logs

FIELDS = [
    "id",
    "nick",
    "to",
    "channel",
    "payload",
    "kind",
    "bundle",
    "version",
    "password",
    "account",
    "reason",
    "topic",
    "token",
    "duration",
    "role",
    "limit",
    "invite_only",
    "moderated",
    "secret",
    "members",
    "sender",
    "ts",
]

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["#fuzz", "healthy", "fuzzer", "msg", "ctl", "file", "op", "QUJD", ""]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=12,
)


@st.composite
def frame_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A frame of any known type with a random selection of plausible and odd fields."""
    frame: dict[str, Any] = {"type": draw(st.sampled_from(sorted(FRAME_TYPES)))}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True)):
        frame[name] = draw(json_value)
    return frame


VALID_SAMPLES = [
    {"type": "join", "channel": "#fuzz"},
    {"type": "chanmsg", "channel": "#fuzz", "payload": "QUJDRA=="},
    {"type": "privmsg", "to": "healthy", "payload": "QUJDRA==", "kind": "msg"},
    {"type": "topic", "channel": "#fuzz", "topic": "t"},
    {"type": "mode", "channel": "#fuzz", "moderated": True, "limit": 3},
    {"type": "kick", "channel": "#fuzz", "nick": "healthy"},
    {"type": "ban", "channel": "#fuzz", "nick": "someone", "duration": 5},
    {"type": "publish_keys", "bundle": "QUJD"},
    {"type": "fetch_keys", "nick": "healthy"},
    {"type": "whois", "nick": "healthy"},
    {"type": "nick", "nick": "fuzzed"},
    {"type": "list"},
    {"type": "names", "channel": "#fuzz"},
    {"type": "part", "channel": "#fuzz"},
    {"type": "login", "account": "nobody", "password": "x"},
]


@st.composite
def mutated_lines(draw: st.DrawFn) -> bytes:
    """A valid frame's bytes with a few flips, insertions, deletions or a truncation."""
    base = bytearray(json.dumps(draw(st.sampled_from(VALID_SAMPLES))).encode())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(0, len(base) - 1)))
        if op == "flip" and base:
            base[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            base[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and base:
            del base[pos]
        else:
            del base[pos:]
    return bytes(base).replace(b"\n", b" ")


batches = st.lists(
    st.one_of(
        frame_dicts().map(lambda f: json.dumps(f).encode()),
        mutated_lines(),
        st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"")),
    ),
    min_size=1,
    max_size=12,
)


class _Fuzzer:
    """Registered raw connections, replaced whenever the server drops one."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.ids = itertools.count()
        self.client: RawClient | None = None
        self.reconnects = 0

    def _fresh(self) -> RawClient:
        client = RawClient(self.port)
        client.hello()
        client.register(f"fuzzer{next(self.ids)}")
        client.join("#fuzz")
        client.sock.setblocking(False)
        return client

    def send(self, lines: list[bytes]) -> None:
        if self.client is None:
            self.client = self._fresh()
        try:
            for line in lines:
                self.client.sock.sendall(line + b"\n")
            with contextlib.suppress(BlockingIOError):
                while self.client.sock.recv(65536):
                    pass  # drain replies so we are never a slow consumer
        except (BlockingIOError, OSError):
            self.client.close()
            self.client = None
            self.reconnects += 1

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[EmbeddedServer, RawClient, _Fuzzer, LogCapture]]:
    with (
        capture_logs("server") as logs,
        EmbeddedServer(
            tmp_path / "data",
            connect_rate=(10_000.0, 10_000.0),
            rate_messages=(10_000.0, 10_000.0),
            rate_commands=(10_000.0, 10_000.0),
        ) as server,
    ):
        healthy = RawClient(server.port)
        healthy.hello()
        assert healthy.register("healthy")["type"] == "registered"
        fuzzer = _Fuzzer(server.port)
        try:
            yield server, healthy, fuzzer, logs
        finally:
            fuzzer.close()
            healthy.close()
        assert server.running
    assert not [r.getMessage() for r in logs.tracebacks()]


def _healthy_ping(healthy: RawClient) -> None:
    try:
        reply = healthy.request({"type": "ping", "token": "alive"})
    except TimeoutError:  # pragma: no cover - the failure being tested for
        pytest.fail("the server stopped answering a healthy client")
    assert reply["type"] == "pong"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=batches)
def test_server_survives_fuzzed_frames(
    live: tuple[EmbeddedServer, RawClient, _Fuzzer, LogCapture], batch: list[bytes]
) -> None:
    server, healthy, fuzzer, logs = live
    fuzzer.send(batch)
    _healthy_ping(healthy)
    assert server.running
    assert not logs.tracebacks(), logs.tracebacks()[0].getMessage()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.binary(min_size=1, max_size=5000))
def test_server_survives_raw_byte_streams(
    live: tuple[EmbeddedServer, RawClient, _Fuzzer, LogCapture], data: bytes
) -> None:
    """Arbitrary bytes, newlines included, split anywhere, from a registered client."""
    _server, healthy, fuzzer, logs = live
    fuzzer.send([data])
    _healthy_ping(healthy)
    assert not logs.tracebacks()
