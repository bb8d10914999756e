"""Hello, registration rules, presence and nick changes over real sockets."""

from __future__ import annotations

import pytest

from .conftest import Connect, User


def test_hello_welcome_announces_version_and_limits(connect: Connect) -> None:
    client = connect()
    welcome = client.hello()
    assert welcome["type"] == "welcome"
    assert welcome["version"] == 1
    assert welcome["max_frame"] == 64 * 1024


def test_unsupported_version_is_refused_then_closed(connect: Connect) -> None:
    client = connect()
    reply = client.request({"type": "hello", "version": 99})
    assert reply["type"] == "error"
    assert reply["code"] == "unsupported_version"
    rest = client.wait_closed()
    assert rest[-1]["type"] == "bye"
    assert rest[-1]["code"] == "unsupported_version"


def test_frames_before_hello_and_before_register_get_not_registered(connect: Connect) -> None:
    client = connect()
    reply = client.request({"type": "register", "nick": "alice"})
    assert reply["code"] == "not_registered"
    client.hello()
    reply = client.request({"type": "join", "channel": "#x"})
    assert (reply["type"], reply["code"]) == ("error", "not_registered")
    reply = client.request({"type": "privmsg", "to": "bob", "payload": "AAAA"})
    assert reply["code"] == "not_registered"
    pong = client.request({"type": "ping", "token": "t"})
    assert (pong["type"], pong["token"]) == ("pong", "t")
    assert client.register("alice")["type"] == "registered"


@pytest.mark.parametrize(
    ("nick", "code"),
    [
        ("ab", "invalid_nick"),
        ("a" * 21, "invalid_nick"),
        ("bad nick", "invalid_nick"),
        ("bad.nick", "invalid_nick"),
        ("ünï", "invalid_nick"),
        ("server", "nick_reserved"),
        ("ADMIN", "nick_reserved"),
        ("Root", "nick_reserved"),
        ("sYsTeM", "nick_reserved"),
    ],
)
def test_register_refuses_bad_and_reserved_nicks(connect: Connect, nick: str, code: str) -> None:
    client = connect()
    client.hello()
    reply = client.register(nick)
    assert (reply["type"], reply["code"]) == ("error", code)


@pytest.mark.parametrize("nick", ["abc", "a" * 20, "A-b_9", "___"])
def test_register_accepts_valid_nicks(user: User, nick: str) -> None:
    assert user(nick).nick == nick


def test_nicks_are_unique_without_regard_to_case(user: User, connect: Connect) -> None:
    user("Alice")
    other = connect()
    other.hello()
    assert other.register("aLiCe")["code"] == "nick_in_use"


def test_register_twice_is_refused(user: User) -> None:
    alice = user("alice")
    assert alice.register("alice2")["code"] == "already_registered"


def test_presence_list_and_online_offline_notices(user: User) -> None:
    alice = user("alice")
    bob = user("bob")
    alice.expect("user_online", nick="bob")
    carol_conn = user("carol")
    registered = carol_conn.request({"type": "whois", "nick": "carol"})
    assert registered["type"] == "whois_reply"
    alice.expect("user_online", nick="carol")
    bob.expect("user_online", nick="carol")
    carol_conn.send({"type": "quit", "reason": "bye all"})
    assert carol_conn.wait_closed()[-1]["type"] == "bye"
    offline = alice.expect("user_offline", nick="carol")
    assert offline["reason"] == "bye all"


def test_registered_lists_users_online(user: User, connect: Connect) -> None:
    user("alice")
    user("bob")
    carol = connect()
    carol.hello()
    reply = carol.register("carol")
    assert sorted(reply["users"]) == ["alice", "bob", "carol"]


def test_nick_change_is_broadcast_and_frees_old_nick(user: User, connect: Connect) -> None:
    alice = user("alice")
    bob = user("bob")
    reply = alice.request({"type": "nick", "nick": "alicia"})
    assert reply == {"type": "nick_changed", "id": reply["id"], "old": "alice", "new": "alicia"}
    bob.expect("nick_changed", old="alice", new="alicia")
    assert alice.request({"type": "nick", "nick": "BOB"})["code"] == "nick_in_use"
    assert alice.request({"type": "nick", "nick": "Admin"})["code"] == "nick_reserved"
    assert alice.request({"type": "nick", "nick": "x"})["code"] == "invalid_nick"
    newcomer = connect()
    newcomer.hello()
    assert newcomer.register("alice")["type"] == "registered"
    # changing only the letter case of one's own nick is allowed
    assert bob.request({"type": "nick", "nick": "Bob"})["new"] == "Bob"
