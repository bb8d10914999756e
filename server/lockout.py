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
State is in memory (sans-IO, clock injectable) and bounded by ``max_entries``; a server
restart forgets it, which only ever favours the owner.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from justirc_sdk.protocol import nick_key

from .ipfilter import address_key

__all__ = ["Lockout", "LockoutPolicy"]


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


class _Account:
    __slots__ = ("failures", "trusted")

    def __init__(self) -> None:
        self.failures: deque[float] = deque(maxlen=128)
        self.trusted: dict[str, float] = {}


class Lockout:
    """Sans-IO lockout state. ``now`` defaults to *clock* (monotonic seconds)."""

    def __init__(
        self,
        policy: LockoutPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or LockoutPolicy()
        self._clock = clock
        self._pairs: dict[tuple[str, str], deque[float]] = {}
        self._accounts: dict[str, _Account] = {}

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
        acct, src = nick_key(account), address_key(addr)
        self._make_room(t)
        pair = self._pairs.setdefault((acct, src), deque(maxlen=self.policy.max_failures))
        pair.append(t)
        self._accounts.setdefault(acct, _Account()).failures.append(t)

    def record_success(self, account: str, addr: str, now: float | None = None) -> None:
        """A correct password from *addr*: clear failures and trust this source."""
        t = self._now(now)
        acct, src = nick_key(account), address_key(addr)
        self._pairs.pop((acct, src), None)
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
        while self._pairs and len(self) > limit:
            del self._pairs[next(iter(self._pairs))]
        while self._accounts and len(self) > limit:
            del self._accounts[next(iter(self._accounts))]

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now


def _expire(stamps: deque[float], before: float) -> None:
    while stamps and stamps[0] <= before:
        stamps.popleft()
