"""Accounts through the protocol: lockout, tokens, nick protection, require-auth mode."""

from __future__ import annotations

from pathlib import Path

from .server_helpers import PASSWORD, Clock, client, running, with_account


def test_create_login_and_lockout_with_expiry(tmp_path: Path) -> None:
    clock = Clock()
    with running(tmp_path, clock) as srv:
        with_account(srv, "alice").close()
        guesser = client(srv)
        for _ in range(5):
            reply = guesser.request(
                {"type": "login", "account": "alice", "password": "wrong-guess"}
            )
            assert reply["code"] == "bad_password"
        # a sixth attempt on this connection hits the per-connection login rate limit
        limited = guesser.request({"type": "login", "account": "alice", "password": PASSWORD})
        assert limited["code"] == "rate_limited" and limited["retry_after"] > 0
        guesser.close()
        guesser = client(srv)  # reconnecting does not help: the account is locked
        locked = guesser.request({"type": "login", "account": "alice", "password": PASSWORD})
        assert locked["code"] == "account_locked"
        assert locked["retry_after"] > 0
        guesser.close()
        clock.advance(15 * 60 + 1)
        again = client(srv)
        reply = again.request({"type": "login", "account": "alice", "password": PASSWORD})
        assert reply["type"] == "logged_in" and reply["account"] == "alice"
        # logged in before registering: the registered nick is ours
        assert again.register("alice")["type"] == "registered"


def test_token_expiry_and_revocation(tmp_path: Path) -> None:
    clock = Clock()
    with running(tmp_path, clock, token_ttl=3600) as srv:
        owner = with_account(srv, "bob")
        owner.close()
        c = client(srv)
        first = c.request({"type": "login", "account": "bob", "password": PASSWORD})
        token = first["token"]
        c.close()
        # a token logs in (and is rotated: the reply carries a fresh one)
        c = client(srv)
        second = c.request({"type": "login", "account": "bob", "token": token})
        assert second["type"] == "logged_in" and second["token"] != token
        assert c.request({"type": "login", "account": "bob", "token": token})["code"] in (
            "forbidden",  # already logged in on this connection
        )
        # logout revokes this session's token
        assert c.request({"type": "logout"})["type"] == "ok"
        c.close()
        c = client(srv)
        reply = c.request({"type": "login", "account": "bob", "token": second["token"]})
        assert reply["code"] == "invalid_token"
        # expiry
        fresh = c.request({"type": "login", "account": "bob", "password": PASSWORD})["token"]
        c.close()
        clock.advance(3601)
        c = client(srv)
        reply = c.request({"type": "login", "account": "bob", "token": fresh})
        assert reply["code"] == "invalid_token"
        assert "expired" in reply["message"]
        # a password change revokes every token
        live = c.request({"type": "login", "account": "bob", "password": PASSWORD})["token"]
        changed = c.request({"type": "passwd", "old": PASSWORD, "new": "another long secret"})
        assert changed["type"] == "logged_in"
        other = client(srv)
        reply = other.request({"type": "login", "account": "bob", "token": live})
        assert reply["code"] == "invalid_token"


def test_registered_nick_is_protected_and_reclaimed(tmp_path: Path) -> None:
    with running(tmp_path) as srv:
        holder = with_account(srv, "carol")
        guest = client(srv)
        reply = guest.register("Carol")
        assert reply["code"] == "nick_in_use"
        assert "registered" in reply["message"]
        assert guest.register("someguest")["type"] == "registered"
        assert guest.request({"type": "nick", "nick": "carol"})["code"] == "nick_in_use"
        # the owner logs in from a second connection and reclaims the nick
        owner = client(srv)
        assert (
            owner.request({"type": "login", "account": "carol", "password": PASSWORD})["type"]
            == "logged_in"
        )
        assert owner.register("carol")["type"] == "registered"
        renamed = holder.expect("nick_changed", old="carol")
        assert renamed["new"].startswith("Guest")
        assert guest.expect("nick_changed", old="carol")["new"] == renamed["new"]
        # logging out makes the owner a guest, and a guest may not keep a registered nick
        assert owner.request({"type": "logout"})["type"] == "ok"
        later = guest.expect("nick_changed", old="carol")
        assert later["new"].startswith("Guest")


def test_require_authentication_mode(tmp_path: Path) -> None:
    with running(tmp_path, require_authentication=True) as srv:
        newcomer = client(srv, "dave")
        assert newcomer.join("#ops")["code"] == "auth_required"
        assert newcomer.request({"type": "whois", "nick": "dave"})["code"] == "auth_required"
        assert newcomer.request({"type": "ping", "token": "t"})["type"] == "pong"
        created = newcomer.request({"type": "create_account", "password": PASSWORD})
        assert created["type"] == "logged_in"
        assert newcomer.join("#ops")["type"] == "joined"
        # ownership attaches to the account
        owner = srv.call(lambda s: s.router.registry.get("#ops").owner)
        assert owner == "account:dave"


def test_deleted_account_takes_its_channel_roles_along(tmp_path: Path) -> None:
    with running(tmp_path) as srv:
        alice = with_account(srv, "alice")
        assert alice.join("#club")["members"]["alice"] == "owner"
        bobby, carol = with_account(srv, "bobby"), client(srv, "carol")
        bobby.join("#club")
        carol.join("#club")
        op = {"type": "role", "channel": "#club", "nick": "bobby", "role": "op"}
        assert alice.request(op)["type"] == "role_changed"  # the answer names the change
        carol.expect("role_changed", nick="bobby", role="op")
        assert alice.request({"type": "delete_account", "password": PASSWORD})["type"] == "ok"
        # the longest-standing op inherits the channel; everyone is told by the server
        seen = {}
        while len(seen) < 2:
            frame = carol.expect("role_changed")
            seen[frame["nick"]] = (frame["role"], frame["by"])
        assert seen == {"bobby": ("owner", "server"), "alice": ("member", "server")}
        alice.close()
        # somebody else registers the freed name: no channel power comes with it
        impostor = with_account(srv, "alice")
        assert impostor.join("#club")["members"]["alice"] == "member"
        kick = impostor.request({"type": "kick", "channel": "#club", "nick": "bobby"})
        assert kick["code"] == "forbidden"
        impostor.close()
    with running(tmp_path) as srv:  # and after a restart, from the database
        impostor = client(srv)
        reply = impostor.request({"type": "login", "account": "alice", "password": PASSWORD})
        assert reply["type"] == "logged_in"
        impostor.register("alice")
        assert impostor.join("#club")["members"]["alice"] == "member"
        owner = client(srv)
        owner.request({"type": "login", "account": "bobby", "password": PASSWORD})
        owner.register("bobby")
        assert owner.join("#club")["members"]["bobby"] == "owner"
