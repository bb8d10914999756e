"""SDK end to end: TLS pinning, password login, and no secrets in logs or databases."""

from __future__ import annotations

import io
import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import anyio.to_thread
import pytest

from justirc_sdk import Session, events
from justirc_sdk.errors import TLSError
from server.embedded import EmbeddedServer
from server.logs import JsonFormatter

PASSWORD = "Tr0ub4dor&3-unique-pw"
PRIVATE = "private text 7f3a91"
CHANNEL = "channel text c0ffee42"

pytestmark = pytest.mark.anyio


async def _make_account(port: int, nick: str, **tls: str) -> None:
    guest = await Session.connect("127.0.0.1", port, nick=nick, reconnect=False, **tls)
    async with guest:
        await guest.create_account(PASSWORD)
        assert guest.account == nick


async def test_tls_pinned_self_signed_and_password_login(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "data", tls_self_signed=True) as srv:
        fp = srv.tls_fingerprint
        assert fp is not None and len(fp) == 64
        await _make_account(srv.port, "alice", tls_fingerprint=fp)
        session = await Session.connect(
            "127.0.0.1", srv.port, nick="alice", password=PASSWORD, tls_fingerprint=fp
        )
        async with session:
            assert session.account == "alice"
            assert await session.ping() >= 0
        wrong = "00" * 32
        with pytest.raises(TLSError, match="pinned"):
            await Session.connect(
                "127.0.0.1", srv.port, nick="mallory", tls_fingerprint=wrong, reconnect=False
            )


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return str(resp.read().decode())


async def test_metrics_scrape(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "data", metrics_enabled=True, metrics_port=0) as srv:
        assert srv.metrics_address is not None
        host, port = srv.metrics_address
        session = await Session.connect("127.0.0.1", srv.port, nick="watcher", reconnect=False)
        async with session:
            await session.ping()
            text = await anyio.to_thread.run_sync(_scrape, f"http://{host}:{port}/metrics")
        assert "justirc_connections 1.0" in text
        assert 'justirc_frames_in_total{type="hello"} 1.0' in text
        assert 'justirc_frames_out_total{type="welcome"} 1.0' in text
        assert "justirc_deliveries_total" in text


@pytest.fixture(params=["plain", "json"])
def captured_logs(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter() if request.param == "json" else logging.Formatter("%(name)s %(message)s")
    )
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # one backend is enough for a grep
async def test_full_session_leaves_no_secret_in_logs_or_database(
    tmp_path: Path, captured_logs: io.StringIO
) -> None:
    data = tmp_path / "data"
    with EmbeddedServer(data) as srv:
        await _make_account(srv.port, "alice")
        alice = await Session.connect("127.0.0.1", srv.port, nick="alice", password=PASSWORD)
        bob = await Session.connect("127.0.0.1", srv.port, nick="bob")
        carol = await Session.connect("127.0.0.1", srv.port, nick="carol")
        async with alice, bob, carol:
            token = alice.token
            assert token
            got = bob.wait_for(events.Message, check=lambda e: e.channel is None, timeout=10)
            await alice.send("bob", PRIVATE)
            assert (await got).text == PRIVATE
            room = await alice.join("#team")
            joined = alice.wait_for(events.MemberJoined, check=lambda e: e.nick == "carol")
            await bob.join("#team")
            await carol.join("#team")
            await joined
            at_bob = bob.wait_for(events.Message, check=lambda e: e.channel == "#team", timeout=10)
            at_carol = carol.wait_for(
                events.Message, check=lambda e: e.channel == "#team", timeout=10
            )
            await room.send(CHANNEL)
            assert (await at_bob).text == CHANNEL
            assert (await at_carol).text == CHANNEL
    logs = captured_logs.getvalue()
    assert "logged in to account alice" in logs  # the capture works at all
    if logs.lstrip().startswith("{"):
        assert all(json.loads(line) for line in logs.splitlines() if line)
    stored = b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())
    for secret in (PASSWORD, PRIVATE, CHANNEL, token):
        assert secret not in logs
        assert secret.encode() not in stored
