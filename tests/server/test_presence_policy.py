"""The presence policy: global below ``presence_global_max``, channel-scoped above it."""

from __future__ import annotations

import json
from typing import Any

from justirc_sdk.protocol import Registered, decode_frame
from server.config import ServerConfig
from server.router import Router
from server.routing import Output


def feed(router: Router, conn: int, **frame: Any) -> Output:
    return router.handle(conn, decode_frame(json.dumps(frame)))


def register(router: Router, conn: int, nick: str) -> Output:
    router.connected(conn)
    feed(router, conn, type="hello", version=1)
    return feed(router, conn, type="register", nick=nick)


def types_for(out: Output, conn: int) -> list[str]:
    return [json.loads(data)["type"] for data in out.frames_for(conn)]


def registered_frame(out: Output, conn: int) -> Registered:
    frame = decode_frame(out.frames_for(conn)[0])
    assert isinstance(frame, Registered)
    return frame


def test_below_threshold_everyone_sees_everyone() -> None:
    router = Router(ServerConfig(presence_global_max=3))
    register(router, 1, "alice")
    register(router, 2, "bobby")
    out = register(router, 3, "carol")
    reg = registered_frame(out, 3)
    assert reg.users == ("alice", "bobby", "carol")
    assert reg.users_total is None  # the list is complete
    assert types_for(out, 1) == ["user_online"]
    assert types_for(out, 2) == ["user_online"]
    out = router.disconnected(2)
    assert types_for(out, 1) == ["user_offline"]
    assert types_for(out, 3) == ["user_offline"]


def test_above_threshold_only_channel_peers_hear_presence() -> None:
    router = Router(ServerConfig(presence_global_max=2))
    register(router, 1, "alice")
    register(router, 2, "bobby")
    out = register(router, 3, "carol")  # the third user: above the threshold
    reg = registered_frame(out, 3)
    assert reg.users == ()
    assert reg.users_total == 3
    assert types_for(out, 1) == [] and types_for(out, 2) == []
    feed(router, 1, type="join", channel="#room")
    feed(router, 3, type="join", channel="#room")
    out = feed(router, 3, type="nick", nick="caroline", id="n")
    assert types_for(out, 1) == ["nick_changed"]  # shares #room
    assert types_for(out, 2) == []  # shares nothing
    assert json.loads(out.frames_for(3)[0]) == {
        "type": "nick_changed",
        "id": "n",
        "old": "carol",
        "new": "caroline",
    }
    out = router.disconnected(3)
    assert sorted(types_for(out, 1)) == ["member_left", "user_offline"]
    assert types_for(out, 2) == []
    # whois still finds any online nick, shared channel or not
    out = feed(router, 2, type="whois", nick="alice", id="w")
    reply = json.loads(out.frames_for(2)[0])
    assert reply["type"] == "whois_reply" and reply["online"] is True


def test_crossing_back_below_threshold_restores_global_presence() -> None:
    router = Router(ServerConfig(presence_global_max=2))
    register(router, 1, "alice")
    register(router, 2, "bobby")
    out = register(router, 3, "carol")  # 3 online: above
    assert types_for(out, 1) == []
    assert types_for(router.disconnected(3), 1) == []  # counted with carol: still above
    out = router.disconnected(2)  # 2 online before bobby left: global again
    assert types_for(out, 1) == ["user_offline"]
    out = register(router, 4, "dave1")
    assert types_for(out, 1) == ["user_online"]
    assert registered_frame(out, 4).users == ("alice", "dave1")


def test_registered_frame_stays_under_max_frame_at_10000_users() -> None:
    """At ~5,000 users the old ``registered`` listed every nick and outgrew 64 KiB."""
    config = ServerConfig()
    router = Router(config)
    for conn in range(1, 10_001):
        out = register(router, conn, f"user{conn:06d}xxxxxxxxxx")
        data = out.frames_for(conn)[0]
        assert len(data) <= config.max_frame
    reg = registered_frame(out, 10_000)
    assert reg.users == () and reg.users_total == 10_000
    assert router.presence.count() == 10_000


def test_global_presence_list_is_truncated_to_fit_the_frame() -> None:
    """Even with an operator's huge threshold, ``registered`` never exceeds max_frame."""
    config = ServerConfig(presence_global_max=100_000, max_frame=4096)
    router = Router(config)
    for conn in range(1, 301):  # 300 twenty-character nicks: about 6.9 KB of list
        out = register(router, conn, f"user{conn:06d}xxxxxxxxxx")
        assert len(out.frames_for(conn)[0]) <= config.max_frame
    reg = registered_frame(out, 300)
    assert 0 < len(reg.users) < 300
    assert reg.users_total == 300
