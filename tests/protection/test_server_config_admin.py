"""Configuration precedence, ``config show``, and every admin subcommand (with pick-up)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import tomllib

from server.cli import main
from server.config import ServerConfig
from server.config_sources import layered_config
from server.errors import ConfigError
from tests.server.client import RawClient

from .server_helpers import PASSWORD, client, running, with_account

try:
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def test_precedence_flags_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text(
        '[server]\nport = 7000\nmotd = "file"\n[rate_limits]\nmessages = [5, 50]\n'
        "[tls]\nallow_insecure = true\n"
    )
    env = {"JUSTIRC_PORT": "7100", "JUSTIRC_RATE_LIMITS_MESSAGES": "6,60"}
    config = layered_config(config_file=path, environ=env, flags={"port": 7200})
    assert config.port == 7200  # flag
    assert config.rate_messages == (6.0, 60.0)  # env over file
    assert config.motd == "file" and config.allow_insecure  # file over default
    assert config.max_per_address == ServerConfig().max_per_address  # default


def test_config_show_prints_every_key_and_round_trips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"JUSTIRC_ACCOUNTS_REQUIRE_AUTHENTICATION": "true"}
    assert main(["config", "show", "--port", "7300"], environ=env) == 0
    shown = capsys.readouterr().out
    data = tomllib.loads(shown)
    assert data["server"]["port"] == 7300
    assert data["accounts"]["require_authentication"] is True
    assert data["rate_limits"]["images"] == [4194304, 33554432]
    path = tmp_path / "shown.toml"
    path.write_text(shown)
    again = layered_config(config_file=path, environ={}, flags={})
    assert again.port == 7300 and again.require_authentication


@pytest.mark.parametrize(
    ("content", "env", "key"),
    [
        ("[rate_limits]\nmessages = [0, 10]\n", {}, "rate_limits.messages"),
        ("[connections]\nmax_per_address = 'many'\n", {}, "connections.max_per_address"),
        ("[tls]\nbogus = 1\n", {}, "tls.bogus"),
        ("", {"JUSTIRC_LOG_FORMAT": "xml"}, "log.format"),
        ("", {"JUSTIRC_METRICS_PORT": "x"}, "JUSTIRC_METRICS_PORT"),
    ],
)
def test_invalid_value_names_the_key_and_exits_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    env: dict[str, str],
    key: str,
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    assert main(["--config", str(path), "--port", "0"], environ=env) == 2
    assert key in capsys.readouterr().err
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        layered_config(config_file=path, environ=env, flags={})


def _admin(data: Path, *args: str) -> int:
    return main(["admin", "--data-dir", str(data), *args], environ={})


def test_account_subcommands_with_pick_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    with running(tmp_path, poll_interval=0.05) as srv:
        session = with_account(srv, "erin")
        assert _admin(data, "accounts", "list") == 0
        assert "erin\tactive" in capsys.readouterr().out
        assert _admin(data, "accounts", "disable", "erin") == 0
        bye = session.wait_closed()[-1]  # picked up by the running server's poll
        assert bye["type"] == "bye" and bye["code"] == "account_disabled"
        c = client(srv)
        refused = c.request({"type": "login", "account": "erin", "password": PASSWORD})
        assert refused["code"] == "account_disabled"
        assert _admin(data, "accounts", "enable", "erin") == 0
        monkeypatch.setattr("sys.stdin", io.StringIO("a brand new password\n"))
        assert _admin(data, "accounts", "reset-password", "erin", "--password-stdin") == 0
        old = c.request({"type": "login", "account": "erin", "password": PASSWORD})
        assert old["code"] == "bad_password"
        new = client(srv)
        ok = new.request({"type": "login", "account": "erin", "password": "a brand new password"})
        assert ok["type"] == "logged_in"
        assert _admin(data, "accounts", "disable", "nobody") == 2
        assert "no account" in capsys.readouterr().err


def test_ip_subcommands_ban_a_range_while_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    with running(tmp_path, poll_interval=0.05) as srv:
        victim = client(srv, "victim")
        assert _admin(data, "ip", "ban", "127.0.0.0/8", "--duration", "10m") == 0
        bye = victim.wait_closed()[-1]  # live connections in the range are dropped
        assert bye["code"] == "forbidden"
        assert RawClient(srv.port).wait_closed()[0]["code"] == "forbidden"
        assert _admin(data, "ip", "list") == 0
        assert "deny\t127.0.0.0/8\tuntil" in capsys.readouterr().out
        assert _admin(data, "ip", "remove", "127.0.0.0/8") == 0
        srv.call(lambda s: s.poll_admin())
        assert client(srv, "welcome").nick == "welcome"
        assert _admin(data, "ip", "add", "10.0.0.0/8", "--reason", "lab") == 0
        assert _admin(data, "ip", "add", "10.1.2.3", "--allow") == 0
        assert _admin(data, "ip", "list") == 0
        listing = capsys.readouterr().out
        assert "allow\t10.1.2.3/32" in listing and "deny\t10.0.0.0/8\tpermanent\tlab" in listing
        assert _admin(data, "ip", "add", "not-an-ip") == 2
        with pytest.raises(SystemExit) as exited:  # argparse: usage error, status 2
            _admin(data, "ip", "ban", "10.0.0.1", "--duration", "soon")
        assert exited.value.code == 2


def test_channel_subcommands_with_pick_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    with running(tmp_path, poll_interval=0.05) as srv:
        founder = client(srv, "founder")
        assert founder.join("#lab")["type"] == "joined"
        heir = with_account(srv, "heir")
        assert heir.join("#lab")["type"] == "joined"
        assert _admin(data, "channels", "list") == 0
        assert "#lab\towner nick:founder" in capsys.readouterr().out  # a keyless guest
        assert _admin(data, "channels", "set-owner", "#lab", "heir") == 0
        promoted = founder.expect("role_changed", nick="heir")
        assert promoted["role"] == "owner" and promoted["by"] == "server"
        assert srv.call(lambda s: s.router.registry.get("#lab").owner) == "account:heir"
        assert _admin(data, "channels", "drop", "#lab") == 0
        kicked = heir.expect("kicked", nick="heir")
        assert kicked["by"] == "server"
        assert srv.call(lambda s: s.router.registry.get("#lab")) is None
        assert _admin(data, "channels", "drop", "#nope") == 2
