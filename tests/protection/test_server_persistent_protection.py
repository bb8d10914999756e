"""A restarted server still refuses a locked-out account and a banned address."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from server.cli import main
from server.embedded import EmbeddedServer
from tests.server.client import RawClient

from .server_helpers import PASSWORD, Clock, client, lock_out, running, with_account

TINY = (0.001, 1)


def test_login_lockout_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    with running(tmp_path, clock) as srv:
        with_account(srv, "alice").close()
        lock_out(srv, "alice")
    clock.advance(60)  # the server was down for a minute
    with running(tmp_path, clock) as srv:  # a new process on the same data directory
        c = client(srv)
        locked = c.request({"type": "login", "account": "alice", "password": PASSWORD})
        assert locked["code"] == "account_locked"
        assert locked["retry_after"] == pytest.approx(15 * 60 - 60, abs=2)
        c.close()
        clock.advance(15 * 60 - 60 + 1)
        c = client(srv)
        reply = c.request({"type": "login", "account": "alice", "password": PASSWORD})
        assert reply["type"] == "logged_in" and reply["account"] == "alice"
        c.close()


def test_connection_ban_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    limits = {"rate_commands": TINY, "rate_refusals": (0.001, 2), "exempt": ()}
    with running(tmp_path, clock, **limits) as srv:
        c = RawClient(srv.port)
        c.hello()
        for _ in range(3):
            c.send({"type": "whois", "nick": "xyz"})
        assert c.wait_closed()[-1]["code"] == "rate_limited"  # abusive: banned for 60 s
    clock.advance(20)
    with running(tmp_path, clock, **limits) as srv:
        banned = RawClient(srv.port).wait_closed()
        assert banned[0]["code"] == "rate_limited" and "banned" in banned[0]["message"]
        assert banned[0]["retry_after"] == pytest.approx(40, abs=1)
        clock.advance(41)
        back = client(srv)  # accepted again (hello answered with welcome)
        back.close()


def _admin(data: Path, *args: str) -> int:
    return main(["admin", "--data-dir", str(data), *args], environ={})


def _login(srv: EmbeddedServer, account: str, password: str) -> dict[str, object]:
    c = client(srv)
    try:
        return c.request({"type": "login", "account": account, "password": password})
    finally:
        c.close()


def test_admin_password_reset_lifts_a_lockout_live_and_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    data = tmp_path / "data"
    new = "a brand new password"
    with running(tmp_path, clock, poll_interval=0.05) as srv:
        with_account(srv, "alice").close()
        lock_out(srv, "alice")
        assert _login(srv, "alice", PASSWORD)["code"] == "account_locked"
        monkeypatch.setattr("sys.stdin", io.StringIO(new + "\n"))
        assert _admin(data, "accounts", "reset-password", "alice", "--password-stdin") == 0
        srv.call(lambda s: s.poll_admin())  # what the running server does within a second
        assert _login(srv, "alice", new)["type"] == "logged_in"
        lock_out(srv, "alice")
    # the server is stopped: the reset clears the stored lockout for the next start
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert _admin(data, "accounts", "reset-password", "alice", "--password-stdin") == 0
    with running(tmp_path, clock) as srv:
        assert _login(srv, "alice", PASSWORD)["type"] == "logged_in"
