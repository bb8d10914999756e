"""Keepalive, slow consumers, bad input, floods and graceful shutdown."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.embedded import EmbeddedServer

from .client import Closed, RawClient
from .conftest import Connect, User


@pytest.fixture
def fast_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """A server with tiny keepalive intervals, a small outbound queue and error budget."""
    with EmbeddedServer(
        tmp_path / "data",
        ping_interval=0.1,
        ping_timeout=0.3,
        max_frame=4096,
        max_outbound=64 * 1024,
        max_errors=5,
        error_window=60,
        rate_messages=(1e6, 1e6),  # this file floods on purpose; limits are tested elsewhere
    ) as srv:
        yield srv


def login(port: int, nick: str, **kwargs: object) -> RawClient:
    client = RawClient(port, **kwargs)  # type: ignore[arg-type]
    client.hello()
    assert client.register(nick)["type"] == "registered"
    return client


def test_idle_live_client_survives_many_pings(fast_server: EmbeddedServer) -> None:
    client = login(fast_server.port, "idler")
    watcher = login(fast_server.port, "watcher")
    client.sock.settimeout(0.05)
    while client.pings < 5:  # each ping is answered by the client's auto-pong
        with contextlib.suppress(socket.timeout):
            client.recv()
    client.sock.settimeout(5)
    reply = client.request({"type": "whois", "nick": "idler"})
    assert reply["type"] == "whois_reply"
    watcher.close()
    client.close()


def test_dead_peer_is_dropped(fast_server: EmbeddedServer) -> None:
    watcher = login(fast_server.port, "watcher")
    dead = login(fast_server.port, "deadpeer", auto_pong=False)
    offline = watcher.expect("user_offline", nick="deadpeer")
    assert "no sign of life" in offline["reason"]
    frames = dead.wait_closed()
    assert frames[-1]["type"] == "bye"
    assert frames[-1]["code"] == "timeout"
    assert any(f["type"] == "ping" for f in frames)
    watcher.close()


def test_slow_consumer_is_cut_and_others_keep_receiving(fast_server: EmbeddedServer) -> None:
    sender = login(fast_server.port, "sender")
    fast = login(fast_server.port, "fast")
    slow = login(fast_server.port, "slow", rcvbuf=4096)
    for client in (sender, fast, slow):
        client.join("#firehose")
    payload = "A" * 3000
    received = 0
    slow_gone = False
    for _ in range(20_000):
        sender.send({"type": "chanmsg", "channel": "#firehose", "payload": payload})
        frame = fast.wait(lambda f: f["type"] in ("chanmsg", "member_left"))
        if frame["type"] == "chanmsg":
            received += 1
        elif frame["nick"] == "slow":
            slow_gone = True
            assert "too slow" in frame["reason"]
            break
    assert slow_gone
    # the fast member got every message sent so far, and still gets new ones
    sender.send({"type": "chanmsg", "channel": "#firehose", "payload": "bGFzdA=="})
    assert fast.wait(lambda f: f.get("payload") == "bGFzdA==")["sender"] == "sender"
    slow.sock.settimeout(5)
    frames = slow.wait_closed()
    # the bye is queued behind the backlog; if the backlog cannot drain within the close
    # grace period the connection is aborted and the bye is lost with it
    byes = [f for f in frames if f["type"] == "bye"]
    assert all(f["code"] == "slow_consumer" for f in byes)
    assert slow.eof
    for client in (sender, fast):
        client.close()


BAD_INPUTS = [
    pytest.param(b"{not json\n", "bad_frame", None, id="malformed-json"),
    pytest.param(b"[1,2]\n", "bad_frame", None, id="not-an-object"),
    pytest.param(b'{"id":"q1"}\n', "bad_frame", None, id="no-type"),
    pytest.param(b'{"type":"teleport","id":"q1"}\n', "unknown_type", "q1", id="unknown-type"),
    pytest.param(b'{"type":"privmsg","id":"q1","to":"bob"}\n', "bad_frame", "q1", id="missing"),
    pytest.param(
        b'{"type":"privmsg","id":"q1","to":"bob","payload":5}\n', "bad_frame", "q1", id="ill-typed"
    ),
    pytest.param(b'{"type":"ping","token":"\xff\xfe"}\n', "bad_frame", None, id="invalid-utf8"),
    pytest.param(b'{"type":"ping","token":"' + b"x" * 5000 + b'"}\n', "too_large", None, id="big"),
    pytest.param(b"x" * 9000 + b"\n", "too_large", None, id="big-no-json"),
    pytest.param(
        b'{"type":"user_online","nick":"fake","id":"q1"}\n', "unknown_type", "q1", id="server-frame"
    ),
    pytest.param(b'{"type":"ping","token":NaN}\n', "bad_frame", None, id="nan"),
]


@pytest.mark.parametrize(("data", "code", "rid"), BAD_INPUTS)
def test_bad_input_gets_error_and_stream_continues(
    fast_server: EmbeddedServer, data: bytes, code: str, rid: str | None
) -> None:
    client = login(fast_server.port, "tester")
    client.send(data)
    error = client.expect("error")
    assert error["code"] == code
    assert error.get("id") == rid
    pong = client.request({"type": "ping", "token": "still-here"})
    assert pong["token"] == "still-here"
    client.close()


def test_garbage_flood_disconnects_only_the_abuser(fast_server: EmbeddedServer) -> None:
    bystander = login(fast_server.port, "bystander")
    abuser = RawClient(fast_server.port)
    abuser.send(b"garbage\n" * 50)
    frames = abuser.wait_closed()
    errors = [f for f in frames if f["type"] == "error"]
    assert errors
    assert all(f["code"] == "bad_frame" for f in errors)
    assert frames[-1]["type"] == "bye"
    assert frames[-1]["code"] == "rate_limited"
    assert bystander.request({"type": "ping", "token": "ok"})["token"] == "ok"
    bystander.close()


def test_not_registered_flood_disconnects(fast_server: EmbeddedServer) -> None:
    client = RawClient(fast_server.port)
    client.hello()
    line = json.dumps({"type": "join", "channel": "#x"}).encode() + b"\n"
    client.send(line * 20)
    frames = client.wait_closed()
    assert frames[0]["code"] == "not_registered"
    assert frames[-1]["code"] == "rate_limited"


def test_graceful_shutdown_says_bye(tmp_path: Path) -> None:
    srv = EmbeddedServer(tmp_path / "data").start()
    client = login(srv.port, "alice")
    other = RawClient(srv.port)
    assert other.hello()["type"] == "welcome"
    srv.stop()
    srv.stop()  # idempotent
    for c in (client, other):
        frames = c.wait_closed()
        assert frames[-1]["type"] == "bye"
        assert frames[-1]["code"] == "shutting_down"
        c.close()
    with pytest.raises(ConnectionRefusedError):
        RawClient(srv.port)


def test_quit_closes_cleanly(user: User, connect: Connect) -> None:
    alice = user("alice")
    alice.send({"type": "quit"})
    assert alice.wait_closed()[-1]["type"] == "bye"
    with pytest.raises(Closed):
        alice.recv()
