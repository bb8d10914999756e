"""Lockouts and connection-gate bans kept in a real SQLite store across a reopen."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.lockout import Lockout, LockoutPolicy
from server.protection_store import ProtectionStore
from server.ratelimit import BanLadder, ConnectionGate, GateConfig, RateSpec
from server.store import Store

from .conftest import FakeClock

ATTACKER = "203.0.113.9"
OWNER = "198.51.100.7"
WINDOW = 15 * 60.0
LADDER = BanLadder(steps=(60.0, 300.0, 1800.0), forgive_after=86400.0)


class Disk:
    """One database file that tests open, close and reopen like a server restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.store: Store | None = None

    def open(self) -> ProtectionStore:
        self.close()
        self.store = Store(self.path)
        return ProtectionStore(self.store)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def rows(self, table: str) -> int:
        assert self.store is not None
        row = self.store.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        return int(row[0])

    def writes(self) -> int:
        """Rows changed on this connection so far (to prove an operation wrote nothing)."""
        assert self.store is not None
        return self.store.connection.total_changes


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    d = Disk(tmp_path / "justirc.sqlite3")
    yield d
    d.close()


def lockout(disk: Disk, clock: FakeClock, policy: LockoutPolicy | None = None) -> Lockout:
    return Lockout(policy, clock=clock, storage=disk.open())


def gate(disk: Disk, clock: FakeClock, config: GateConfig | None = None) -> ConnectionGate:
    return ConnectionGate(config or GateConfig(bans=LADDER), clock=clock, storage=disk.open())


def fail(lock: Lockout, n: int, addr: str, clock: FakeClock, step: float = 1.0) -> None:
    for _ in range(n):
        lock.record_failure("alice", addr)
        clock.advance(step)


# -- login lockout --------------------------------------------------------------------


def test_locked_pair_stays_locked_after_reopen_with_the_same_wait(
    disk: Disk, clock: FakeClock
) -> None:
    fail(lockout(disk, clock), 5, ATTACKER, clock)  # failures at 0..4 s, now 5 s
    lock = lockout(disk, clock)  # a fresh process on the same file
    assert lock.check("Alice", ATTACKER) == pytest.approx(WINDOW - 5)
    assert lock.check("bob", ATTACKER) is None
    clock.advance(WINDOW - 5)
    assert lock.check("alice", ATTACKER) is None  # the first failure left the window
    # the four later failures were restored too: one more guess locks the pair again
    lock.record_failure("alice", ATTACKER)
    assert lock.check("alice", ATTACKER) == pytest.approx(1.0)


def test_account_wide_delay_survives_reopen(disk: Disk, clock: FakeClock) -> None:
    lock = lockout(disk, clock)
    for i in range(8):  # eight sources, so only the account-wide rule applies
        lock.record_failure("alice", f"192.0.2.{i}")
    assert lock.check("alice", OWNER) == pytest.approx(8.0)  # 1 s * 2 ** 3
    lock = lockout(disk, clock)
    assert lock.check("alice", OWNER) == pytest.approx(8.0)
    clock.advance(8.0)
    assert lock.check("alice", OWNER) is None


def test_expired_lockouts_are_pruned_from_memory_and_disk(disk: Disk, clock: FakeClock) -> None:
    lock = lockout(disk, clock)
    fail(lock, 5, ATTACKER, clock, step=0.0)
    assert (disk.rows("lockout_pairs"), disk.rows("lockout_accounts")) == (1, 1)
    clock.advance(WINDOW - 1)
    lock.prune()
    assert (disk.rows("lockout_pairs"), disk.rows("lockout_accounts")) == (1, 1)  # still live
    clock.advance(1)
    lock.prune()
    assert len(lock) == 0
    assert (disk.rows("lockout_pairs"), disk.rows("lockout_accounts")) == (0, 0)
    assert len(lockout(disk, clock)) == 0


def test_expired_rows_are_not_loaded(disk: Disk, clock: FakeClock) -> None:
    fail(lockout(disk, clock), 5, ATTACKER, clock, step=0.0)
    clock.advance(WINDOW)  # expired while the server was down: nothing to prune yet
    lock = lockout(disk, clock)
    assert len(lock) == 0
    assert lock.check("alice", ATTACKER) is None


def test_success_and_forget_delete_the_stored_lockout(disk: Disk, clock: FakeClock) -> None:
    lock = lockout(disk, clock)
    fail(lock, 5, OWNER, clock)  # failures at 0..4 s
    clock.advance(WINDOW - 5)  # unlocked, four failures still count
    assert lock.check("alice", OWNER) is None
    lock.record_success("alice", OWNER)
    assert (disk.rows("lockout_pairs"), disk.rows("lockout_accounts")) == (0, 0)
    fail(lock, 5, ATTACKER, clock, step=0.0)
    lock.record_failure("alice", "192.0.2.1")
    assert (disk.rows("lockout_pairs"), disk.rows("lockout_accounts")) == (1, 1)
    lock.forget("ALICE")  # account deleted or password reset
    assert (disk.rows("lockout_pairs"), disk.rows("lockout_accounts")) == (0, 0)
    assert lockout(disk, clock).check("alice", ATTACKER) is None


def test_ordinary_failures_and_logins_write_nothing(disk: Disk, clock: FakeClock) -> None:
    lock = lockout(disk, clock)
    before = disk.writes()
    fail(lock, 4, OWNER, clock)  # below the threshold
    lock.record_success("alice", OWNER)
    for _ in range(100):
        assert lock.check("alice", OWNER) is None
        lock.record_success("alice", OWNER)
    assert disk.writes() == before
    fail(lock, 5, ATTACKER, clock)
    assert disk.writes() > before  # the lockout itself is written


def test_a_store_needs_a_wall_clock(disk: Disk) -> None:
    with pytest.raises(ValueError, match="wall clock"):
        Lockout(storage=disk.open())
    with pytest.raises(ValueError, match="wall clock"):
        ConnectionGate(storage=disk.open())
    assert Lockout(clock=time.time, storage=disk.open()).check("alice", OWNER) is None


# -- connection gate ------------------------------------------------------------------


def test_ban_survives_reopen_and_the_next_offence_escalates(disk: Disk, clock: FakeClock) -> None:
    assert gate(disk, clock).offence(ATTACKER) == 60.0
    clock.advance(10)
    g = gate(disk, clock)
    assert g.banned_for(ATTACKER) == pytest.approx(50.0)
    refusal = g.try_open(ATTACKER)
    assert refusal is not None and refusal.category == "banned"
    assert refusal.retry_after == pytest.approx(50.0)
    assert g.try_open(OWNER) is None  # others are not affected
    clock.advance(50)
    assert g.try_open(ATTACKER) is None  # the ban expired
    g = gate(disk, clock)
    assert g.offence(ATTACKER) == 300.0  # the offence count survived: second step
    g = gate(disk, clock)
    assert g.banned_for(ATTACKER) == pytest.approx(300.0)


def test_offences_are_forgiven_after_a_quiet_period(disk: Disk, clock: FakeClock) -> None:
    g = gate(disk, clock)
    g.offence(ATTACKER)
    clock.advance(3600)
    g.prune()
    assert disk.rows("gate_bans") == 1  # ban over, but the offence still counts
    g = gate(disk, clock)
    assert g.banned_for(ATTACKER) is None
    clock.advance(LADDER.forgive_after)
    g.prune()
    assert len(g) == 0
    assert disk.rows("gate_bans") == 0
    g = gate(disk, clock)
    assert len(g) == 0
    assert g.offence(ATTACKER) == 60.0  # back to the first step


def test_connect_flood_ban_is_stored(disk: Disk, clock: FakeClock) -> None:
    config = GateConfig(connect_rate=RateSpec(1.0, 1.0), connect_refusals=RateSpec(0.1, 3.0))
    g = gate(disk, clock, config)
    refusals = [g.try_open(ATTACKER) for _ in range(5)]
    assert refusals[-1] is not None and refusals[-1].category == "banned"
    assert gate(disk, clock, config).banned_for(ATTACKER) == pytest.approx(60.0)


def test_connections_and_refusals_short_of_an_offence_write_nothing(
    disk: Disk, clock: FakeClock
) -> None:
    config = GateConfig(connect_rate=RateSpec(1.0, 1.0), connect_refusals=RateSpec(0.1, 3.0))
    g = gate(disk, clock, config)
    before = disk.writes()
    for i in range(200):
        addr = f"10.0.{i // 100}.{i % 100}"
        assert g.try_open(addr) is None
        g.close(addr)
    categories = [getattr(g.try_open(ATTACKER), "category", None) for _ in range(4)]
    assert categories == [None, "connect_rate", "connect_rate", "connect_rate"]
    assert disk.writes() == before
    refusal = g.try_open(ATTACKER)
    assert refusal is not None and refusal.category == "banned"
    assert disk.writes() == before + 1  # the offence is the one write


def test_exempt_sources_are_never_stored(disk: Disk, clock: FakeClock) -> None:
    g = gate(disk, clock)
    assert g.offence("127.0.0.1") == 0.0
    assert disk.rows("gate_bans") == 0


def test_attach_after_construction_restores_bans(disk: Disk, clock: FakeClock) -> None:
    gate(disk, clock).offence("2001:db8:1:2::5")
    g = ConnectionGate(GateConfig(bans=LADDER), clock=clock)  # built before the store opens
    assert g.banned_for("2001:db8:1:2::7") is None
    g.attach(disk.open())
    assert g.banned_for("2001:db8:1:2::7") == pytest.approx(60.0)  # same IPv6 /64
