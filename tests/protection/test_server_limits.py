"""Rate limits, connection caps, bans, IP filter and slowloris against a live server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.admin import AdminSession
from tests.server.client import RawClient

from .server_helpers import Clock, client, running

TINY = (0.001, 1)


def _refused(c: RawClient, frame: dict[str, Any]) -> dict[str, Any]:
    c.request(frame)  # the first one passes the bucket (whatever else it answers)
    return c.request(frame)


def test_every_category_refuses_with_retry_after(tmp_path: Path) -> None:
    limits = {f"rate_{c}": TINY for c in ("messages", "control", "joins", "logins", "key_fetches")}
    with running(tmp_path, rate_commands=(0.001, 3), rate_images=(1.0, 10.0), **limits) as srv:
        c = client(srv, "flood")  # hello and register are commands 1 and 2
        peer = client(srv, "peer")
        assert c.request({"type": "whois", "nick": "peer"})["type"] == "whois_reply"
        frames = {
            "commands": {"type": "whois", "nick": "peer"},
            "messages": {"type": "privmsg", "to": "peer", "payload": "eA==", "kind": "msg"},
            "control": {"type": "privmsg", "to": "peer", "payload": "eA==", "kind": "ctl"},
            "images": {"type": "privmsg", "to": "peer", "payload": "eA" * 50, "kind": "file"},
            "joins": {"type": "join", "channel": "#c1"},
            "logins": {"type": "login", "account": "nobody", "password": "whatever12"},
            "key_fetches": {"type": "fetch_keys", "nick": "peer"},
        }
        for category, frame in frames.items():
            reply = c.request(frame) if category == "commands" else _refused(c, frame)
            assert reply["code"] == "rate_limited", category
            assert reply["retry_after"] > 0, category
            assert category.replace("_", " ") in reply["message"]
        peer.close()


def test_abuse_disconnects_and_escalating_ban_expires(tmp_path: Path) -> None:
    clock = Clock()
    with running(tmp_path, clock, rate_commands=TINY, rate_refusals=(0.001, 2), exempt=()) as srv:
        c = RawClient(srv.port)
        c.hello()
        for _ in range(3):
            c.send({"type": "whois", "nick": "xyz"})
        frames = c.wait_closed()
        assert frames[-1]["type"] == "bye" and frames[-1]["code"] == "rate_limited"
        banned = RawClient(srv.port).wait_closed()
        assert banned[0]["code"] == "rate_limited" and "banned" in banned[0]["message"]
        assert banned[0]["retry_after"] == pytest.approx(60, abs=1)
        clock.advance(61)
        back = client(srv)  # accepted again (hello answered with welcome)
        back.close()


def test_per_address_and_rate_caps(tmp_path: Path) -> None:
    with running(tmp_path, max_per_address=2, connect_rate=(0.001, 3), exempt=()) as srv:
        first, second = client(srv), client(srv)
        third = RawClient(srv.port).wait_closed()
        assert third[0]["code"] == "rate_limited" and "too many connections" in third[0]["message"]
        assert third[0]["retry_after"] > 0
        first.close()
        second.close()
    with running(tmp_path, connect_rate=(0.001, 2), exempt=()) as srv:
        held = [client(srv), client(srv)]
        fast = RawClient(srv.port).wait_closed()
        assert len(held) == 2
        assert "connecting too fast" in fast[0]["message"]


def test_global_cap(tmp_path: Path) -> None:
    with running(tmp_path, max_connections=1) as srv:
        holder = client(srv)
        full = RawClient(srv.port).wait_closed()
        assert full[0]["code"] == "server_full"
        holder.close()


def test_whitelist_mode_and_temporary_ban_expiry(tmp_path: Path) -> None:
    clock = Clock()
    with running(tmp_path, clock, ip_filter_mode="whitelist", poll_interval=0.05) as srv:
        refused = RawClient(srv.port).wait_closed()
        assert refused[0]["code"] == "forbidden"
        admin = AdminSession(tmp_path / "data", clock=clock)
        try:
            admin.ip.add_rule("127.0.0.0/8", "allow")
            srv.call(lambda s: s.poll_admin())
            assert client(srv, "allowed").nick == "allowed"
            admin.ip.ban("127.0.0.1", 120)
            srv.call(lambda s: s.poll_admin())
            assert RawClient(srv.port).wait_closed()[0]["code"] == "forbidden"
            clock.advance(121)
            assert client(srv, "expired").nick == "expired"
        finally:
            admin.close()


def test_slowloris_partial_frame_and_missing_hello(tmp_path: Path) -> None:
    with running(tmp_path, frame_timeout=0.2, handshake_timeout=0.3) as srv:
        silent = RawClient(srv.port)
        frames = silent.wait_closed()
        assert frames[-1]["code"] == "timeout" and "hello" in frames[-1]["reason"]
        slow = client(srv, "slowpoke")
        slow.send(b'{"type": "whois", "ni')
        frames = slow.wait_closed()
        assert frames[-1]["code"] == "timeout" and "frame" in frames[-1]["reason"]


def test_default_limits_admit_a_burst_of_healthy_traffic(tmp_path: Path) -> None:
    with running(tmp_path) as srv:
        c = client(srv, "busy")
        peer = client(srv, "peer")
        for i in range(100):
            msg = {"type": "privmsg", "to": "peer", "payload": "eA==", "kind": "msg"}
            c.send({**msg, "id": f"m{i}"})
        c.send({"type": "ping", "token": "end"})
        frames = []
        while not frames or frames[-1]["type"] != "pong":
            frames.append(c.recv())
        replies = [f["type"] for f in frames if f["type"] != "user_online"]
        assert replies == ["ok"] * 100 + ["pong"]
        peer.close()
