"""Empty channels owned by guests are forgotten after a while; account channels stay."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.channels import Channel, ChannelRegistry
from server.config import ServerConfig
from server.embedded import EmbeddedServer
from server.errors import ConfigError
from server.store import Store
from tests._clock import FakeClock

from .conftest import User

DAY = 86_400.0
WEEK = 7 * DAY


def _registry(path: Path) -> ChannelRegistry:
    return ChannelRegistry(Store(path / "server.db"))


def _channel(registry: ChannelRegistry, name: str, owner: str) -> Channel:
    channel = Channel(key=name.lower(), name=name, owner=owner, created=0.0, topic="hi")
    registry.create(channel)
    registry.set_role(channel, "key:abc", "op")
    return channel


def test_guest_channels_expire_after_being_empty_long_enough(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    _channel(registry, "#guest", "key:owner")
    _channel(registry, "#club", "account:alice")
    _channel(registry, "#orphan", "")  # its owning account was deleted, no op to inherit
    nobody = lambda key: False  # noqa: E731
    assert registry.sweep(1000.0, nobody, WEEK) == []  # first seen empty now
    assert registry.sweep(1000.0 + WEEK - 1, nobody, WEEK) == []
    dropped = registry.sweep(1000.0 + WEEK, nobody, WEEK)
    assert sorted(c.name for c in dropped) == ["#guest", "#orphan"]
    assert sorted(registry.channels) == ["#club"]
    reopened = _registry(tmp_path)  # gone from the database too, roles with them
    assert sorted(reopened.channels) == ["#club"]
    assert reopened.channels["#club"].emptied == 1000.0
    assert reopened.channels["#club"].roles == {"key:abc": "op"}


def test_members_reset_the_clock_and_zero_disables(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    _channel(registry, "#guest", "key:owner")
    busy = {"#guest"}
    registry.sweep(0.0, lambda key: False, WEEK)
    registry.sweep(WEEK - 10, lambda key: key in busy, WEEK)  # somebody came back
    assert registry.channels["#guest"].emptied is None
    assert _registry(tmp_path).channels["#guest"].emptied is None
    registry.sweep(WEEK, lambda key: False, WEEK)  # empty again: the wait starts over
    assert registry.sweep(WEEK + WEEK - 1, lambda key: False, WEEK) == []
    assert registry.sweep(10 * WEEK, lambda key: False, 0.0) == []  # 0 keeps it forever
    assert [c.name for c in registry.sweep(10 * WEEK, lambda key: False, WEEK)] == ["#guest"]


def test_an_expired_channel_is_free_for_the_next_guest(
    server: EmbeddedServer, user: User, clock: FakeClock
) -> None:
    alice = user("alice")
    assert alice.join("#tmp")["members"]["alice"] == "owner"
    assert alice.request({"type": "topic", "channel": "#tmp", "topic": "old"})["type"] != "error"
    assert alice.request({"type": "part", "channel": "#tmp"})["type"] == "member_left"
    expire = lambda srv: srv.router.channels.expire_empty()  # noqa: E731
    assert server.call(expire) == []
    clock.advance(WEEK - 60)
    assert server.call(expire) == []  # not yet: alice could come back to her channel
    clock.advance(60)
    assert server.call(expire) == ["#tmp"]
    joined = user("bobby").join("#tmp")
    assert joined["members"] == {"bobby": "owner"}
    assert joined.get("topic") is None


def test_config_rejects_a_negative_expiry() -> None:
    with pytest.raises(ConfigError, match="guest_expiry"):
        ServerConfig(channel_guest_expiry=-1).validate()
