"""Private routing, sender stamping, the key directory and whois."""

from __future__ import annotations

from .conftest import User


def test_private_message_is_routed_and_sender_stamped(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    reply = alice.request(
        {"type": "privmsg", "to": "BOB", "payload": "b3BhcXVl", "sender": "bob", "ts": 1.0}
    )
    assert reply["type"] == "ok"
    got = bob.expect("privmsg")
    assert got["sender"] == "alice"
    assert got["payload"] == "b3BhcXVl"
    assert got["to"] == "bob"
    assert got["ts"] != 1.0
    assert "id" not in got


def test_sender_cannot_claim_to_be_the_server(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    alice.send({"type": "privmsg", "to": "bob", "payload": "eA==", "sender": "server"})
    assert bob.expect("privmsg")["sender"] == "alice"


def test_privmsg_without_id_gets_no_ok(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    alice.expect("user_online", nick="bob")
    alice.send({"type": "privmsg", "to": "bob", "payload": "eA=="})
    bob.expect("privmsg")
    # the next reply alice sees is the pong, not an ok for the message
    alice.send({"type": "ping", "token": "after"})
    assert alice.recv() == {"type": "pong", "token": "after"}


def test_no_such_nick(user: User) -> None:
    alice = user("alice")
    reply = alice.request({"type": "privmsg", "to": "nobody", "payload": "eA=="})
    assert (reply["type"], reply["code"]) == ("error", "no_such_nick")
    # errors are sent even without an id
    alice.send({"type": "privmsg", "to": "nobody", "payload": "eA=="})
    err = alice.expect("error")
    assert err["code"] == "no_such_nick"
    assert err["ref"] == "privmsg"


def test_key_directory_relays_bundles_verbatim(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    assert alice.request({"type": "fetch_keys", "nick": "bob"})["code"] == "no_keys"
    assert alice.request({"type": "fetch_keys", "nick": "ghost"})["code"] == "no_such_nick"
    bundle = "QUJDRA+/=="
    assert bob.request({"type": "publish_keys", "bundle": bundle})["type"] == "ok"
    keys = alice.request({"type": "fetch_keys", "nick": "Bob"})
    assert keys["type"] == "keys"
    assert keys["nick"] == "bob"
    assert keys["bundle"] == bundle


def test_whois_shows_channels_but_hides_secret_ones(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    alice.join("#open")
    alice.join("#hidden")
    alice.request({"type": "mode", "channel": "#hidden", "secret": True})
    reply = bob.request({"type": "whois", "nick": "alice"})
    assert reply["type"] == "whois_reply"
    assert reply["online"] is True
    assert reply["channels"] == ["#open"]
    assert sorted(alice.request({"type": "whois", "nick": "alice"})["channels"]) == [
        "#hidden",
        "#open",
    ]
    assert bob.request({"type": "whois", "nick": "ghost"})["code"] == "no_such_nick"
