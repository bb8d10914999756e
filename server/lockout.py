"""Login lockout that slows guessing without letting an attacker lock the owner out.

Policy (all numbers are :class:`LockoutPolicy` fields):

1. **Per account and source.** After ``max_failures`` (5) failed password logins for
   one account from one source within ``window`` (15 minutes), that source may not try
   that account again until the oldest of those failures is ``window`` old. A source is
   an IPv4 address or an IPv6 /64 (see :func:`~server.ipfilter.address_key`).
2. **Per account, from anywhere.** Once the account has ``max_failures`` failures in the
   window from all sources together, every further password attempt must wait a delay
   after the last failure: ``delay_base * 2 ** extra`` seconds, where ``extra`` counts the
   failures beyond the threshold, capped at ``delay_cap`` (60 s). This defeats a botnet
   guessing from many addresses, yet the delay never exceeds the cap, so the account is
   never locked for long.
3. **The owner is never locked out from elsewhere.** Sources that logged in to the
   account successfully within ``trusted_for`` (30 days) skip rule 2, session-token logins
   are never subject to lockout (tokens are unguessable and rate-limited per
   connection), and a successful login clears the account's failures.

So an attacker can lock out only the (account, source) pairs it controls, plus at most a
``delay_cap`` wait for password logins from sources the owner never used before.

State is in memory (sans-IO, clock injectable) and bounded by ``max_entries``. With an
optional :class:`LockoutStorage` (the server passes
:class:`~server.protection_store.ProtectionStore`) the failure lists that restrict
someone survive a restart: a pair or account is written once it reaches
``max_failures`` failures in the window, rewritten on each further failure, and deleted
when a success, :meth:`Lockout.forget` or :meth:`Lockout.prune` clears it. Failures
below the threshold and trusted sources are not written, so a successful login that
clears nothing costs no disk write. After a restart, a source the owner used before
therefore counts as new until its next successful login (it may meet the
``delay_cap`` wait of rule 2 while the account is under attack).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from justirc_sdk.protocol import nick_key

from .ipfilter import address_key

__all__ = ["FailureRecord", "Lockout", "LockoutPolicy", "LockoutStorage"]


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """Lockout numbers; see the module docstring for how they combine."""

    max_failures: int = 5
    window: float = 15 * 60.0
    delay_base: float = 1.0
    delay_cap: float = 60.0
    trusted_for: float = 30 * 24 * 3600.0
    max_entries: int = 100_000

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.window <= 0 or self.delay_cap < 0:
            raise ValueError(f"invalid lockout policy: {self}")


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """The recent failure times of one (account, source) pair, or of the whole account.

    ``source`` is an :func:`~server.ipfilter.address_key`, or None for the account-wide
    list of rule 2. Times are the lockout clock's (wall-clock when persisted).
    """

    account: str
    source: str | None
    failures: tuple[float, ...]


class LockoutStorage(Protocol):
    """Where a :class:`Lockout` keeps the failure lists that restrict someone."""

    def load_failures(self, since: float) -> list[FailureRecord]:
        """Records with a failure after *since*, most recent first."""
        ...

    def save_failures(self, record: FailureRecord) -> None:
        """Insert or replace the record of ``(record.account, record.source)``."""
        ...

    def delete_failures(self, account: str, source: str | None) -> None:
        """Delete one record (``source`` None: the account-wide one)."""
        ...

    def forget_account(self, account: str) -> None:
        """Delete every record of *account*."""
        ...

    def prune_failures(self, before: float) -> None:
        """Delete records whose last failure is at or before *before*."""
        ...


class _Account:
    __slots__ = ("failures", "trusted")

    def __init__(self) -> None:
        self.failures: deque[float] = deque(maxlen=128)
        self.trusted: dict[str, float] = {}


class Lockout:
    """Sans-IO lockout state. ``now`` defaults to *clock* (monotonic seconds).

    With *storage*, restricting failure lists are loaded now and written through (see
    the module docstring); *clock* must then be a wall clock such as ``time.time``, so
    stored times still mean something after a restart.
    """

    def __init__(
        self,
        policy: LockoutPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        storage: LockoutStorage | None = None,
    ) -> None:
        if storage is not None and clock is time.monotonic:
            raise ValueError("a persisted lockout needs a wall clock (clock=time.time)")
        self.policy = policy or LockoutPolicy()
        self._clock = clock
        self._pairs: dict[tuple[str, str], deque[float]] = {}
        self._accounts: dict[str, _Account] = {}
        self._storage = storage
        self._saved_pairs: set[tuple[str, str]] = set()
        self._saved_accounts: set[str] = set()
        """Keys with a record in *storage* (so clearing them knows to delete it)."""
        if storage is not None:
            self._load(storage, self._clock())

    def check(self, account: str, addr: str, now: float | None = None) -> float | None:
        """Seconds *addr* must wait before trying *account*'s password, or None if it may."""
        t = self._now(now)
        p = self.policy
        acct, src = nick_key(account), address_key(addr)
        waits: list[float] = []
        pair = self._pairs.get((acct, src))
        if pair is not None:
            _expire(pair, t - p.window)
            if len(pair) >= p.max_failures:
                waits.append(pair[-p.max_failures] + p.window - t)
        state = self._accounts.get(acct)
        if state is not None and not self._trusted(state, src, t):
            _expire(state.failures, t - p.window)
            extra = len(state.failures) - p.max_failures
            if extra >= 0:
                delay = min(p.delay_base * 2.0 ** min(extra, 60), p.delay_cap)
                waits.append(state.failures[-1] + delay - t)
        wait = max(waits, default=0.0)
        return wait if wait > 0 else None

    def record_failure(self, account: str, addr: str, now: float | None = None) -> None:
        """Count one failed password login for *account* from *addr*."""
        t = self._now(now)
        p = self.policy
        acct, src = nick_key(account), address_key(addr)
        self._make_room(t)
        pair = self._pairs.setdefault((acct, src), deque(maxlen=p.max_failures))
        _expire(pair, t - p.window)
        pair.append(t)
        failures = self._accounts.setdefault(acct, _Account()).failures
        _expire(failures, t - p.window)
        failures.append(t)
        storage = self._storage
        if storage is None:
            return
        # written only once it restricts (or was written before): cheap below the threshold
        if len(pair) >= p.max_failures or (acct, src) in self._saved_pairs:
            storage.save_failures(FailureRecord(acct, src, tuple(pair)))
            self._saved_pairs.add((acct, src))
        if len(failures) >= p.max_failures or acct in self._saved_accounts:
            storage.save_failures(FailureRecord(acct, None, tuple(failures)))
            self._saved_accounts.add(acct)

    def record_success(self, account: str, addr: str, now: float | None = None) -> None:
        """A correct password from *addr*: clear failures and trust this source."""
        t = self._now(now)
        acct, src = nick_key(account), address_key(addr)
        self._pairs.pop((acct, src), None)
        if self._storage is not None:
            if (acct, src) in self._saved_pairs:
                self._saved_pairs.discard((acct, src))
                self._storage.delete_failures(acct, src)
            if acct in self._saved_accounts:
                self._saved_accounts.discard(acct)
                self._storage.delete_failures(acct, None)
        self._make_room(t)
        state = self._accounts.setdefault(acct, _Account())
        state.failures.clear()
        state.trusted[src] = t
        if len(state.trusted) > 64:  # keep the most recent sources only
            oldest = min(state.trusted, key=state.trusted.__getitem__)
            del state.trusted[oldest]

    def forget(self, account: str) -> None:
        """Drop all state of *account* (it was deleted or its password reset)."""
        acct = nick_key(account)
        self._accounts.pop(acct, None)
        for key in [k for k in self._pairs if k[0] == acct]:
            del self._pairs[key]
        if self._storage is not None:
            saved = {k for k in self._saved_pairs if k[0] == acct}
            if saved or acct in self._saved_accounts:
                self._saved_pairs -= saved
                self._saved_accounts.discard(acct)
                self._storage.forget_account(acct)

    def prune(self, now: float | None = None) -> None:
        """Drop state that can no longer affect a decision (call now and then)."""
        t = self._now(now)
        p = self.policy
        for key, pair in list(self._pairs.items()):
            _expire(pair, t - p.window)
            if not pair:
                del self._pairs[key]
        for acct, state in list(self._accounts.items()):
            _expire(state.failures, t - p.window)
            state.trusted = {s: w for s, w in state.trusted.items() if w > t - p.trusted_for}
            if not state.failures and not state.trusted:
                del self._accounts[acct]
        if self._storage is not None:
            self._saved_pairs.intersection_update(self._pairs)
            accounts = self._accounts
            self._saved_accounts = {
                a for a in self._saved_accounts if a in accounts and accounts[a].failures
            }
            self._storage.prune_failures(t - p.window)

    def __len__(self) -> int:
        return len(self._pairs) + len(self._accounts)

    def _trusted(self, state: _Account, src: str, t: float) -> bool:
        when = state.trusted.get(src)
        return when is not None and when > t - self.policy.trusted_for

    def _make_room(self, t: float) -> None:
        # an update adds at most two entries (a pair and an account)
        limit = max(self.policy.max_entries - 2, 0)
        if len(self) <= limit:
            return
        self.prune(t)
        evicted_pairs: list[tuple[str, str]] = []
        evicted_accounts: list[str] = []
        while self._pairs and len(self) > limit:
            key = next(iter(self._pairs))
            del self._pairs[key]
            evicted_pairs.append(key)
        while self._accounts and len(self) > limit:
            acct = next(iter(self._accounts))
            del self._accounts[acct]
            evicted_accounts.append(acct)
        self._unsave(evicted_pairs, evicted_accounts)

    def _unsave(self, pairs: Iterable[tuple[str, str]], accounts: Iterable[str]) -> None:
        """Delete the stored records of entries dropped from memory (disk mirrors memory)."""
        storage = self._storage
        if storage is None:
            return
        for acct, src in pairs:
            if (acct, src) in self._saved_pairs:
                self._saved_pairs.discard((acct, src))
                storage.delete_failures(acct, src)
        for acct in accounts:
            if acct in self._saved_accounts:
                self._saved_accounts.discard(acct)
                storage.delete_failures(acct, None)

    def _load(self, storage: LockoutStorage, t: float) -> None:
        """Restore stored failure lists that still fall in the window (newest first)."""
        p = self.policy
        for record in storage.load_failures(t - p.window):
            if len(self) >= p.max_entries:
                break
            recent = [f for f in sorted(record.failures) if f > t - p.window]
            if not recent:
                continue
            if record.source is None:
                state = self._accounts.setdefault(record.account, _Account())
                state.failures.extend(recent)
                self._saved_accounts.add(record.account)
            else:
                key = (record.account, record.source)
                self._pairs[key] = deque(recent, maxlen=p.max_failures)
                self._saved_pairs.add(key)

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now


def _expire(stamps: deque[float], before: float) -> None:
    while stamps and stamps[0] <= before:
        stamps.popleft()
