"""Channels: join, part, list, names, topic, modes, password and invites."""

from __future__ import annotations

from .conftest import User


def test_first_joiner_owns_and_names_are_case_insensitive(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    joined = alice.join("#Test")
    assert joined["type"] == "joined"
    assert joined["channel"] == "#Test"
    assert joined["members"] == {"alice": "owner"}
    assert joined["modes"]["topic_lock"] is True
    second = bob.join("#test")
    assert second["channel"] == "#Test"
    assert second["members"] == {"alice": "owner", "bob": "member"}
    assert alice.expect("member_joined")["nick"] == "bob"
    assert bob.join("#TEST")["code"] == "already_in_channel"


def test_invalid_channel_name(user: User) -> None:
    alice = user("alice")
    assert alice.join("nohash")["code"] == "invalid_channel"
    assert alice.join("#" + "x" * 51)["code"] == "invalid_channel"
    assert alice.join("#bad name")["code"] == "invalid_channel"


def test_part_tells_everyone_and_stops_delivery(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    alice.join("#room")
    bob.join("#room")
    reply = bob.request({"type": "part", "channel": "#room", "reason": "later"})
    assert (reply["type"], reply["nick"], reply["reason"]) == ("member_left", "bob", "later")
    alice.expect("member_left", nick="bob")
    assert bob.request({"type": "part", "channel": "#room"})["code"] == "not_in_channel"
    assert bob.request({"type": "part", "channel": "#nowhere"})["code"] == "no_such_channel"
    reply = bob.request({"type": "chanmsg", "channel": "#room", "payload": "eA=="})
    assert reply["code"] == "not_in_channel"


def test_channel_message_fanout_is_stamped_and_not_echoed(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    carol = user("carol")
    for client in (alice, bob, carol):
        client.join("#room")
    reply = alice.request(
        {"type": "chanmsg", "channel": "#ROOM", "payload": "Y2lwaGVy", "sender": "carol"}
    )
    assert reply["type"] == "ok"
    for receiver in (bob, carol):
        got = receiver.expect("chanmsg")
        assert (got["sender"], got["channel"], got["payload"]) == ("alice", "#room", "Y2lwaGVy")
        assert isinstance(got["ts"], float)
    alice.send({"type": "ping", "token": "z"})
    assert alice.wait(lambda f: f["type"] in ("chanmsg", "pong"))["type"] == "pong"


def test_disconnect_leaves_channels(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    alice.join("#room")
    bob.join("#room")
    bob.close()
    left = alice.expect("member_left", nick="bob")
    assert left["channel"] == "#room"
    names = alice.request({"type": "names", "channel": "#room"})
    assert names["members"] == {"alice": "owner"}


def test_list_and_names_hide_secret_channels(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    alice.join("#pub")
    alice.request({"type": "topic", "channel": "#pub", "topic": "hello"})
    alice.join("#sec")
    alice.request({"type": "mode", "channel": "#sec", "secret": True})
    listing = bob.request({"type": "list"})
    assert listing["channels"] == [{"name": "#pub", "members": 1, "topic": "hello"}]
    assert {c["name"] for c in alice.request({"type": "list"})["channels"]} == {"#pub", "#sec"}
    assert bob.request({"type": "names", "channel": "#sec"})["code"] == "no_such_channel"
    assert bob.request({"type": "names", "channel": "#pub"})["members"] == {"alice": "owner"}
    assert bob.request({"type": "names", "channel": "#none"})["code"] == "no_such_channel"


def test_topic_lock_on_and_off(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    alice.join("#room")
    bob.join("#room")
    assert bob.request({"type": "topic", "channel": "#room", "topic": "x"})["code"] == "forbidden"
    reply = alice.request({"type": "mode", "channel": "#room", "topic_lock": False})
    assert reply["type"] == "mode_changed"
    assert reply["modes"]["topic_lock"] is False
    reply = bob.request({"type": "topic", "channel": "#room", "topic": "bob's topic"})
    assert (reply["type"], reply["topic"], reply["by"]) == ("topic_changed", "bob's topic", "bob")
    alice.expect("topic_changed", topic="bob's topic")
    cleared = alice.request({"type": "topic", "channel": "#room", "topic": ""})
    assert "topic" not in cleared


def test_moderated_mode(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    carol = user("carol")
    for client in (alice, bob, carol):
        client.join("#room")
    alice.request({"type": "mode", "channel": "#room", "moderated": True})
    reply = bob.request({"type": "chanmsg", "channel": "#room", "payload": "eA=="})
    assert reply["code"] == "moderated"
    alice.request({"type": "role", "channel": "#room", "nick": "bob", "role": "mod"})
    assert bob.request({"type": "chanmsg", "channel": "#room", "payload": "eA=="})["type"] == "ok"
    assert carol.expect("chanmsg")["sender"] == "bob"


def test_member_limit(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    carol = user("carol")
    alice.join("#room")
    assert alice.request({"type": "mode", "channel": "#room", "limit": 2})["modes"]["limit"] == 2
    assert bob.join("#room")["type"] == "joined"
    assert carol.join("#room")["code"] == "channel_full"


def test_invite_only_with_invite(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    alice.join("#club")
    alice.request({"type": "mode", "channel": "#club", "invite_only": True})
    assert bob.join("#club")["code"] == "invite_only"
    assert alice.request({"type": "invite", "channel": "#club", "nick": "ghost"})["code"] == (
        "no_such_nick"
    )
    assert alice.request({"type": "invite", "channel": "#club", "nick": "bob"})["type"] == "ok"
    assert bob.expect("invited") == {"type": "invited", "channel": "#club", "by": "alice"}
    assert bob.join("#club")["type"] == "joined"
    # an invite is good for one join
    bob.request({"type": "part", "channel": "#club"})
    assert bob.join("#club")["code"] == "invite_only"


def test_channel_password(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    joined = alice.join("#vault", password="s3cret")
    assert joined["modes"]["has_password"] is True
    assert bob.join("#vault")["code"] == "bad_password"
    assert bob.join("#vault", password="wrong")["code"] == "bad_password"
    assert bob.join("#vault", password="s3cret")["type"] == "joined"
    reply = alice.request({"type": "mode", "channel": "#vault", "password": ""})
    assert reply["modes"]["has_password"] is False
    carol = user("carol")
    assert carol.join("#vault")["type"] == "joined"


def test_secret_mode_hides_from_list(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    alice.join("#s")
    alice.request({"type": "mode", "channel": "#s", "secret": True})
    assert bob.request({"type": "list"})["channels"] == []
    # a secret channel is still joinable by name
    assert bob.join("#s")["type"] == "joined"
    assert [c["name"] for c in bob.request({"type": "list"})["channels"]] == ["#s"]
