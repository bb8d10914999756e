from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from server.ipfilter import IPFilter, address_key, normalize_address, parse_network
from server.protection_errors import InvalidNetwork

from .conftest import FakeClock


def test_blacklist_addresses_and_ranges(db: sqlite3.Connection, clock: FakeClock) -> None:
    f = IPFilter(db, clock=clock)
    assert f.is_allowed("192.0.2.1")
    f.add_rule("192.0.2.0/24", reason="abuse")
    f.add_rule("2001:db8::/32")
    f.add_rule("198.51.100.7")
    assert not f.is_allowed("192.0.2.1")
    assert not f.is_allowed("2001:db8:ffff::1")
    assert not f.is_allowed("198.51.100.7")
    assert f.is_allowed("198.51.100.8")
    assert f.is_allowed("2001:db9::1")
    rule = f.matching_rule("192.0.2.200")
    assert rule is not None
    assert rule.reason == "abuse"


def test_most_specific_rule_wins(db: sqlite3.Connection) -> None:
    f = IPFilter(db)
    f.add_rule("10.0.0.0/8", "deny")
    f.add_rule("10.1.2.3", "allow")
    assert f.is_allowed("10.1.2.3")
    assert not f.is_allowed("10.1.2.4")


def test_whitelist_mode(db: sqlite3.Connection) -> None:
    f = IPFilter(db, "whitelist")
    assert not f.is_allowed("192.0.2.1")
    f.add_rule("192.0.2.0/24", "allow")
    f.add_rule("fd00::/8", "allow")
    f.add_rule("192.0.2.66", "deny")
    assert f.is_allowed("192.0.2.1")
    assert f.is_allowed("fd12:3456::1")
    assert not f.is_allowed("192.0.2.66")
    assert not f.is_allowed("198.51.100.1")


def test_ipv4_mapped_ipv6(db: sqlite3.Connection) -> None:
    f = IPFilter(db)
    f.add_rule("192.0.2.0/24")
    assert not f.is_allowed("::ffff:192.0.2.9")
    f.add_rule("::ffff:198.51.100.0/120")  # a mapped range is stored as IPv4
    assert not f.is_allowed("198.51.100.3")
    assert [r.network for r in f.rules()] == ["192.0.2.0/24", "198.51.100.0/24"]
    assert str(normalize_address("::ffff:10.0.0.1")) == "10.0.0.1"


def test_temporary_ban_expires(db: sqlite3.Connection, clock: FakeClock) -> None:
    f = IPFilter(db, clock=clock)
    rule = f.ban("203.0.113.0/24", 600)
    assert rule.expires == clock.now + 600
    assert not f.is_allowed("203.0.113.5")
    clock.advance(599)
    assert not f.is_allowed("203.0.113.5")
    clock.advance(1)
    assert f.is_allowed("203.0.113.5")
    assert f.rules() == []
    assert len(f.rules(include_expired=True)) == 1
    assert f.purge_expired() == 1
    assert f.rules(include_expired=True) == []


def test_temporary_ban_inside_allowed_range(db: sqlite3.Connection, clock: FakeClock) -> None:
    f = IPFilter(db, "whitelist", clock=clock)
    f.add_rule("10.0.0.0/8", "allow")
    f.ban("10.0.0.5", 60)
    assert not f.is_allowed("10.0.0.5")
    clock.advance(60)
    assert f.is_allowed("10.0.0.5")  # back to the allow rule


def test_remove_rule(db: sqlite3.Connection) -> None:
    f = IPFilter(db)
    f.add_rule("192.0.2.0/24")
    assert f.remove_rule("192.0.2.0/24")
    assert not f.remove_rule("192.0.2.0/24")
    assert f.is_allowed("192.0.2.1")


@pytest.mark.parametrize("bad", ["", "not-an-ip", "192.0.2.1/33", "192.0.2.1/24", "::g"])
def test_invalid_networks(db: sqlite3.Connection, bad: str) -> None:
    with pytest.raises(InvalidNetwork):
        IPFilter(db).add_rule(bad)


def test_unparseable_peer_refused(db: sqlite3.Connection) -> None:
    assert not IPFilter(db).is_allowed("garbage")


def test_another_connection_change_is_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    server_conn, admin_conn = sqlite3.connect(path), sqlite3.connect(path)
    try:
        running = IPFilter(server_conn)
        assert not running.changed()
        admin = IPFilter(admin_conn)
        admin.add_rule("192.0.2.0/24")
        assert running.is_allowed("192.0.2.1")  # not yet: no poll
        assert running.changed()
        assert running.poll()
        assert not running.is_allowed("192.0.2.1")
        assert not running.poll()  # nothing new
        admin.remove_rule("192.0.2.0/24")
        assert running.poll()
        assert running.is_allowed("192.0.2.1")
    finally:
        server_conn.close()
        admin_conn.close()


def test_address_key() -> None:
    assert address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff") == "2001:db8::/64"
    assert address_key("fe80::1%eth0") == "fe80::/64"
    assert address_key("/tmp/sock") == "/tmp/sock"
    assert str(parse_network("10.0.0.1")) == "10.0.0.1/32"


def test_many_rules_lookup(db: sqlite3.Connection) -> None:
    f = IPFilter(db)
    with db:
        db.executemany(
            "INSERT INTO ip_rules(network, action, created) VALUES (?, 'deny', 0)",
            [(f"10.{i // 256}.{i % 256}.0/24",) for i in range(2000)],
        )
        db.execute("UPDATE ip_filter_state SET generation = generation + 1")
    assert f.poll()
    assert not f.is_allowed("10.7.207.1")
    assert f.is_allowed("10.8.0.1")
