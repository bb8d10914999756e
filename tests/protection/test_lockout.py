from __future__ import annotations

import pytest

from server.lockout import Lockout, LockoutPolicy

from .conftest import FakeClock

ATTACKER = "203.0.113.9"
OWNER = "198.51.100.7"


def fail(lock: Lockout, n: int, addr: str, clock: FakeClock, step: float = 1.0) -> None:
    for _ in range(n):
        lock.record_failure("alice", addr)
        clock.advance(step)


def test_five_failures_lock_the_pair_until_window_passes(clock: FakeClock) -> None:
    lock = Lockout(clock=clock)
    fail(lock, 4, ATTACKER, clock)
    # four failures: rule 1 not yet; the account-wide delay needs five too
    assert lock.check("alice", ATTACKER) is None
    lock.record_failure("alice", ATTACKER)
    wait = lock.check("alice", ATTACKER)
    assert wait is not None
    assert wait == pytest.approx(15 * 60 - 4)  # the first failure was 4 s ago
    clock.advance(wait - 1)
    assert lock.check("alice", ATTACKER) is not None
    clock.advance(1)  # the first failure left the window; no fresh ones since
    assert lock.check("alice", ATTACKER) is None


def test_attacker_cannot_lock_owner_out_for_long(clock: FakeClock) -> None:
    lock = Lockout(clock=clock)
    fail(lock, 30, ATTACKER, clock, step=0.0)
    assert lock.check("alice", ATTACKER) == pytest.approx(15 * 60)
    # the owner, from a never-seen address, waits at most the delay cap
    wait = lock.check("alice", OWNER)
    assert wait is not None
    assert wait <= LockoutPolicy().delay_cap
    clock.advance(wait)
    assert lock.check("alice", OWNER) is None
    lock.record_success("alice", OWNER)
    assert lock.check("alice", OWNER) is None


def test_trusted_source_skips_account_wide_delay(clock: FakeClock) -> None:
    lock = Lockout(clock=clock)
    lock.record_success("alice", OWNER)
    fail(lock, 50, ATTACKER, clock, step=0.0)
    assert lock.check("alice", OWNER) is None
    assert lock.check("alice", ATTACKER) is not None
    clock.advance(31 * 24 * 3600)  # trust expires after 30 days
    fail(lock, 10, ATTACKER, clock, step=0.0)
    assert lock.check("alice", OWNER) is not None


def test_account_delay_grows_and_is_bounded(clock: FakeClock) -> None:
    policy = LockoutPolicy(delay_base=1.0, delay_cap=60.0)
    lock = Lockout(policy, clock=clock)
    waits = []
    for i in range(12):
        # every failure from a different address: rule 1 never triggers
        lock.record_failure("alice", f"192.0.2.{i}")
        waits.append(lock.check("alice", "192.0.2.200"))
    assert waits[:4] == [None] * 4
    assert waits[4:9] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert waits[-1] == 60.0
    assert all(w is None or w <= 60.0 for w in waits)


def test_success_clears_failures(clock: FakeClock) -> None:
    lock = Lockout(clock=clock)
    fail(lock, 4, OWNER, clock)
    lock.record_success("alice", OWNER)
    fail(lock, 4, OWNER, clock)
    assert lock.check("alice", OWNER) is None


def test_accounts_and_sources_are_independent(clock: FakeClock) -> None:
    lock = Lockout(clock=clock)
    fail(lock, 5, ATTACKER, clock, step=0.0)
    assert lock.check("bob", ATTACKER) is None
    assert lock.check("ALICE", ATTACKER) is not None  # names are case-insensitive


def test_ipv6_sources_counted_per_64(clock: FakeClock) -> None:
    lock = Lockout(clock=clock)
    for i in range(5):
        lock.record_failure("alice", f"2001:db8:1:2::{i + 1}")
    assert lock.check("alice", "2001:db8:1:2::ffff") is not None
    lock.record_success("alice", "2001:db8:9::1")
    assert lock.check("alice", "2001:db8:9::1") is None


def test_forget_and_prune_bound_memory(clock: FakeClock) -> None:
    lock = Lockout(LockoutPolicy(max_entries=50), clock=clock)
    for i in range(200):
        lock.record_failure(f"user{i}", f"10.0.{i // 250}.{i % 250}")
    assert len(lock) <= 50
    clock.advance(16 * 60)
    lock.prune()
    assert len(lock) == 0
    fail(lock, 5, ATTACKER, clock, step=0.0)
    lock.forget("alice")
    assert lock.check("alice", ATTACKER) is None
