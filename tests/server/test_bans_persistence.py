"""Bans across reconnects and nick changes, timed bans, and registry persistence."""

from __future__ import annotations

from pathlib import Path

from server.embedded import EmbeddedServer

from .client import RawClient
from .conftest import Connect, FakeClock, User

BUNDLE = "aWRlbnRpdHkta2V5LWJ1bmRsZQ=="


def registered(port: int, nick: str, bundle: str | None = None) -> RawClient:
    client = RawClient(port)
    client.hello()
    assert client.register(nick)["type"] == "registered"
    if bundle is not None:
        assert client.request({"type": "publish_keys", "bundle": bundle})["type"] == "ok"
    return client


def test_ban_holds_across_reconnect_and_nick_change(user: User, connect: Connect) -> None:
    owner = user("owner")
    owner.join("#room")
    mallory = user("mallory")
    mallory.request({"type": "publish_keys", "bundle": BUNDLE})
    mallory.join("#room")
    banned = owner.request({"type": "ban", "channel": "#room", "nick": "mallory", "reason": "spam"})
    assert banned["type"] == "banned"
    mallory.expect("banned", nick="mallory")
    # nick change does not help
    mallory.request({"type": "nick", "nick": "innocent"})
    assert mallory.join("#room")["code"] == "banned"
    mallory.close()
    # a new connection with the same published identity key and another nick
    again = user("newface")
    again.request({"type": "publish_keys", "bundle": BUNDLE})
    assert again.join("#room")["code"] == "banned"
    # the same nick without keys is still banned by nick
    again.close()
    plain = user("Mallory")
    assert plain.join("#room")["code"] == "banned"
    # the ban list names it
    bans = owner.request({"type": "bans", "channel": "#room"})
    assert [(b["nick"], b["by"], b["reason"]) for b in bans["bans"]] == [
        ("mallory", "owner", "spam")
    ]


def test_ban_of_offline_nick(user: User) -> None:
    owner = user("owner")
    owner.join("#room")
    assert owner.request({"type": "ban", "channel": "#room", "nick": "later"})["type"] == "banned"
    assert user("later").join("#room")["code"] == "banned"


def test_timed_ban_expires_by_itself(user: User, clock: FakeClock) -> None:
    owner = user("owner")
    owner.join("#room")
    bob = user("bob")
    bob.join("#room")
    reply = owner.request({"type": "ban", "channel": "#room", "nick": "bob", "duration": 60})
    assert reply["until"] == clock.now + 60
    assert bob.join("#room")["code"] == "banned"
    clock.advance(59)
    assert bob.join("#room")["code"] == "banned"
    clock.advance(2)
    assert bob.join("#room")["type"] == "joined"
    assert owner.request({"type": "bans", "channel": "#room"})["bans"] == []


def test_registry_survives_restart(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "data") as srv:
        owner = registered(srv.port, "owner", BUNDLE)
        helper = registered(srv.port, "helper", "aGVscGVyLWtleQ==")
        victim = registered(srv.port, "victim")
        owner.join("#keep", password="pw")
        helper.join("#keep", password="pw")
        victim.join("#keep", password="pw")
        owner.request({"type": "topic", "channel": "#keep", "topic": "persisted"})
        owner.request({"type": "mode", "channel": "#keep", "moderated": True, "limit": 5})
        owner.request({"type": "role", "channel": "#keep", "nick": "helper", "role": "op"})
        owner.request({"type": "ban", "channel": "#keep", "nick": "victim"})
        srv.restart()
        assert owner.wait_closed()[-1]["code"] == "shutting_down"
        for client in (owner, helper, victim):
            client.close()
        # the registered channel keeps its owner while empty; a stranger cannot take it
        stranger = registered(srv.port, "stranger")
        assert stranger.join("#keep")["code"] == "bad_password"
        joined = stranger.join("#keep", password="pw")
        assert joined["members"] == {"stranger": "member"}
        assert joined["topic"] == "persisted"
        assert (joined["modes"]["moderated"], joined["modes"]["limit"]) == (True, 5)
        # the owner comes back with another nick but the same identity key
        owner2 = registered(srv.port, "boss", BUNDLE)
        assert owner2.join("#keep", password="pw")["members"]["boss"] == "owner"
        helper2 = registered(srv.port, "helper", "aGVscGVyLWtleQ==")
        assert helper2.join("#keep", password="pw")["members"]["helper"] == "op"
        victim2 = registered(srv.port, "victim")
        assert victim2.join("#keep", password="pw")["code"] == "banned"
        for client in (stranger, owner2, helper2, victim2):
            client.close()


def test_transfer_persists_new_owner(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "data") as srv:
        alice = registered(srv.port, "alice", "YWxpY2U=")
        bob = registered(srv.port, "bob", "Ym9i")
        alice.join("#t")
        bob.join("#t")
        assert alice.request({"type": "transfer", "channel": "#t", "nick": "bob"})["type"] == (
            "role_changed"
        )
        srv.restart()
        alice.close()
        bob.close()
        bob2 = registered(srv.port, "bobby", "Ym9i")
        assert bob2.join("#t")["members"] == {"bobby": "owner"}
        alice2 = registered(srv.port, "alice", "YWxpY2U=")
        assert alice2.join("#t")["members"]["alice"] == "op"
        bob2.close()
        alice2.close()
