"""The server relays binary bodies as they came and refuses bad ones without losing step."""

from __future__ import annotations

import json
import os

from .conftest import User


def test_private_binary_body_is_relayed_byte_for_byte(user: User) -> None:
    alice, bob = user("alice"), user("bob")
    body = os.urandom(61_477) + b"\n"  # newlines inside must not split anything
    reply = alice.request({"type": "privmsg", "to": "bob", "kind": "file", "payload": body})
    assert reply["type"] == "ok"
    got = bob.expect("privmsg")
    assert (got["payload"], got["sender"], got["kind"]) == (body, "alice", "file")


def test_channel_binary_body_reaches_every_other_member(user: User) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    for client in (alice, bob, carol):
        assert client.join("#pics")["type"] == "joined"
    body = bytes(range(256)) * 100
    frame = {"type": "chanmsg", "channel": "#pics", "kind": "file", "payload": body}
    assert alice.request(frame)["type"] == "ok"
    for member in (bob, carol):
        got = member.expect("chanmsg")
        assert (got["payload"], got["sender"], got["channel"]) == (body, "alice", "#pics")


def test_oversized_body_is_refused_and_the_connection_goes_on(user: User) -> None:
    alice, bob = user("alice"), user("bob")
    header = {"type": "privmsg", "to": "bob", "kind": "file", "id": "big", "bin": 70_000}
    alice.send(json.dumps(header).encode() + b"\n" + b"\n" * 70_000)
    refused = alice.expect("error", id="big")
    assert refused["code"] == "too_large"
    assert alice.request({"type": "privmsg", "to": "bob", "payload": b"after"})["type"] == "ok"
    assert bob.expect("privmsg")["payload"] == b"after"  # nothing of the refused body


def test_unframeable_header_closes_only_that_connection(user: User) -> None:
    alice, bob, mallory = user("alice"), user("bob"), user("mallory")
    mallory.send(b'{"type":"privmsg","to":"bob","id":"m1","bin":"lots"}\n' + b"\x00" * 100)
    frames = mallory.wait_closed()
    errors = [f for f in frames if f["type"] == "error"]
    assert errors and errors[0]["code"] == "bad_frame" and errors[0]["id"] == "m1"
    assert alice.request({"type": "privmsg", "to": "bob", "payload": b"still here"})["type"] == "ok"
    assert bob.expect("privmsg")["payload"] == b"still here"
