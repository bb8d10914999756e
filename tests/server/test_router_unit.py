"""The sans-IO router without sockets: outputs are inspected directly."""

from __future__ import annotations

import json
from typing import Any

from justirc_sdk.protocol import ErrorCode, ProtocolError, decode_frame
from server.channels import ChannelRegistry, hash_password, verify_password
from server.config import ServerConfig
from server.router import Router
from server.routing import Output
from tests._clock import FakeClock as Clock


def frames(out: Output, conn: int) -> list[dict[str, Any]]:
    return [json.loads(data) for data in out.frames_for(conn)]


def feed(router: Router, conn: int, **frame: Any) -> Output:
    return router.handle(conn, decode_frame(json.dumps(frame)))


def registered(router: Router, conn: int, nick: str) -> None:
    router.connected(conn)
    feed(router, conn, type="hello", version=1)
    out = feed(router, conn, type="register", nick=nick)
    assert frames(out, conn)[0]["type"] == "registered"


def test_fanout_encodes_once_and_stamps_sender() -> None:
    clock = Clock(1000.0)
    router = Router(clock=clock)
    for conn, nick in ((1, "alice"), (2, "bob"), (3, "carol")):
        registered(router, conn, nick)
        feed(router, conn, type="join", channel="#r")
    out = feed(router, 1, type="chanmsg", channel="#r", payload="cA==", sender="bob", ts=5)
    assert len(out.deliveries) == 1
    delivery = out.deliveries[0]
    assert sorted(t for t in delivery.targets if t != delivery.exclude) == [2, 3]
    assert delivery.recipients() == 2
    assert out.frames_for(1) == []  # the sender is excluded
    assert json.loads(delivery.data) == {
        "type": "chanmsg",
        "channel": "#r",
        "payload": "cA==",
        "kind": "msg",
        "sender": "alice",
        "ts": 1000.0,
    }


def test_requests_with_id_get_replies_and_without_id_do_not() -> None:
    router = Router()
    registered(router, 1, "alice")
    registered(router, 2, "bobby")
    out = feed(router, 1, type="privmsg", to="bobby", payload="cA==", id="x")
    assert frames(out, 1) == [{"type": "ok", "id": "x"}]
    out = feed(router, 1, type="privmsg", to="bobby", payload="cA==")
    assert frames(out, 1) == []
    out = feed(router, 1, type="privmsg", to="ghost", payload="cA==")
    assert frames(out, 1)[0]["code"] == "no_such_nick"


def test_protocol_errors_within_window_disconnect() -> None:
    clock = Clock(1000.0)
    router = Router(ServerConfig(max_errors=3, error_window=10), clock=clock)
    router.connected(1)
    error = ProtocolError(ErrorCode.BAD_FRAME, "nope")
    for _ in range(3):
        assert router.protocol_error(1, error).closes == []
        clock.now += 4
    clock.now += 10  # every earlier error has left the window
    for _ in range(3):
        assert router.protocol_error(1, error).closes == []
    out = router.protocol_error(1, error)
    assert [(c.conn, c.code) for c in out.closes] == [(1, "rate_limited")]


def test_timed_ban_with_injected_clock() -> None:
    clock = Clock(1000.0)
    router = Router(clock=clock)
    registered(router, 1, "owner")
    registered(router, 2, "guest")
    feed(router, 1, type="join", channel="#c")
    feed(router, 2, type="join", channel="#c")
    out = feed(router, 1, type="ban", channel="#c", nick="guest", duration=30)
    assert frames(out, 2)[0]["type"] == "banned"
    assert frames(feed(router, 2, type="join", channel="#c"), 2)[0]["code"] == "banned"
    clock.now += 31
    assert frames(feed(router, 2, type="join", channel="#c"), 2)[0]["type"] == "joined"


def test_disconnect_notifies_channel_and_presence() -> None:
    router = Router()
    registered(router, 1, "alice")
    registered(router, 2, "bobby")
    feed(router, 1, type="join", channel="#c")
    feed(router, 2, type="join", channel="#c")
    out = router.disconnected(2, "gone")
    got = frames(out, 1)
    assert {f["type"] for f in got} == {"member_left", "user_offline"}
    assert router.presence.lookup("bobby") is None


def test_shutdown_closes_everyone_once() -> None:
    router = Router()
    registered(router, 1, "alice")
    router.connected(2)
    out = router.shutdown()
    assert sorted((c.conn, c.code) for c in out.closes) == [
        (1, "shutting_down"),
        (2, "shutting_down"),
    ]
    assert router.shutdown().closes == []


def test_registry_without_store_and_password_hashing() -> None:
    registry = ChannelRegistry()
    assert registry.get("#x") is None
    stored = hash_password("pw")
    assert stored.startswith("scrypt$")
    assert "pw" not in stored.split("$")[4:]
    assert verify_password("pw", stored)
    assert not verify_password("PW", stored)
    assert not verify_password("pw", "garbage")
    assert hash_password("pw") != stored  # salted
