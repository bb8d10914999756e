"""Rate limits and connection caps (sans-IO, clock injected).

* :class:`TokenBucket`: ``rate`` tokens per second refill up to ``burst``; a refused
  request is told how long to wait (``retry_after``).
* :class:`ConnectionLimits`: one bucket per traffic category for one connection.
* :class:`ConnectionGate`: per-address connection rate and concurrency caps, a global
  cap, and escalating temporary bans for repeat offenders (:class:`BanLadder`).

Only what a connection *sends* is limited; receiving is never limited, so a member of
a busy channel is never refused for the traffic of others. Defaults (see
:class:`RateLimitConfig`) are sized for a busy 200-member channel and a 10 MB image.

Bans and offence counts of the gate can outlive the process through an optional
:class:`BanStorage` (the server attaches :class:`~server.protection_store.ProtectionStore`):
a source is written only when it commits an offence, so admitting or refusing a
connection costs no disk write. Token buckets and open-connection counts stay in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .ipfilter import address_key

__all__ = [
    "CATEGORIES",
    "BanLadder",
    "BanStorage",
    "ConnectionGate",
    "ConnectionLimits",
    "GateConfig",
    "RateLimitConfig",
    "RateSpec",
    "Refusal",
    "SourceBan",
    "TokenBucket",
    "category_for_frame",
]

CATEGORIES = ("messages", "control", "images", "joins", "logins", "key_fetches", "commands")
"""Traffic categories of :class:`ConnectionLimits`."""

_KIND_CATEGORY = {"msg": "messages", "ctl": "control", "file": "images"}
_TYPE_CATEGORY = {
    "join": "joins",
    "login": "logins",
    "create_account": "logins",
    "passwd": "logins",
    "delete_account": "logins",
    "fetch_keys": "key_fetches",
}
_UNLIMITED_TYPES = frozenset({"ping", "pong", "quit"})


def category_for_frame(frame_type: str, kind: str | None = None) -> str | None:
    """The category a client frame counts against, or None for frames never limited.

    ``privmsg``/``chanmsg`` count by ``kind``: ``msg`` → messages, ``ctl`` → control,
    ``file`` → images (charged in bytes). ``ping``, ``pong`` and ``quit`` are free.
    """
    if frame_type in ("privmsg", "chanmsg"):
        return _KIND_CATEGORY.get(kind or "msg", "messages")
    if frame_type in _UNLIMITED_TYPES:
        return None
    return _TYPE_CATEGORY.get(frame_type, "commands")


@dataclass(frozen=True, slots=True)
class RateSpec:
    """A bucket shape: ``rate`` per second sustained, ``burst`` at once."""

    rate: float
    burst: float

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst <= 0:
            raise ValueError(f"rate and burst must be positive: {self}")


class TokenBucket:
    """A token bucket. Starts full. ``take`` returns None or seconds to wait.

    A cost larger than the burst is admitted when the bucket is full and leaves it in
    debt, so an oversized request is delayed, never refused forever.
    """

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, spec: RateSpec, now: float) -> None:
        self.rate = spec.rate
        self.burst = spec.burst
        self._tokens = spec.burst
        self._last = now

    def take(self, now: float, cost: float = 1.0) -> float | None:
        """Spend *cost* tokens if available; otherwise return seconds until they are."""
        self._refill(now)
        need = min(cost, self.burst)
        if self._tokens >= need:
            self._tokens -= cost
            return None
        return (need - self._tokens) / self.rate

    def full(self, now: float) -> bool:
        """True when the bucket has refilled completely (its state can be dropped)."""
        self._refill(now)
        return self._tokens >= self.burst

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused request: answer ``rate_limited`` with ``retry_after``.

    ``abusive`` means the connection kept going after being refused; the server should
    disconnect it and report an offence to :meth:`ConnectionGate.offence`.
    """

    category: str
    retry_after: float
    abusive: bool = False


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Per-connection buckets. Units are frames, except ``images`` (bytes)."""

    messages: RateSpec = RateSpec(rate=20.0, burst=100.0)
    control: RateSpec = RateSpec(rate=200.0, burst=2000.0)
    images: RateSpec = RateSpec(rate=4 * 1024 * 1024.0, burst=32 * 1024 * 1024.0)
    joins: RateSpec = RateSpec(rate=1.0, burst=30.0)
    logins: RateSpec = RateSpec(rate=0.2, burst=5.0)
    key_fetches: RateSpec = RateSpec(rate=50.0, burst=1000.0)
    commands: RateSpec = RateSpec(rate=20.0, burst=200.0)
    refusals: RateSpec = RateSpec(rate=1.0, burst=50.0)
    """Refusals a connection may collect before it counts as abusive."""

    def spec(self, category: str) -> RateSpec:
        """The bucket shape of *category*."""
        if category not in CATEGORIES:
            raise KeyError(f"unknown rate-limit category {category!r}")
        value: RateSpec = getattr(self, category)
        return value


class ConnectionLimits:
    """The rate limits of one connection (create one per accepted connection).

    Buckets are created on first use: a bucket that has never been charged is full,
    exactly like one created at connect time and left to refill, so creating it late
    changes no decision while an idle connection holds no bucket at all (this object
    is a few dozen bytes until the connection sends something).
    """

    __slots__ = ("_buckets", "_refusals", "_refused", "config")

    def __init__(self, config: RateLimitConfig | None = None, now: float = 0.0) -> None:
        self.config = config or RateLimitConfig()
        self._buckets: dict[str, TokenBucket] | None = None
        self._refusals: TokenBucket | None = None
        self._refused: dict[str, int] | None = None

    @property
    def refused(self) -> dict[str, int]:
        """Refusals so far, per category (a copy; every category present)."""
        counts = dict.fromkeys(CATEGORIES, 0)
        if self._refused is not None:
            counts.update(self._refused)
        return counts

    def check(self, category: str, now: float, cost: float = 1.0) -> Refusal | None:
        """Charge *cost* to *category*; None if allowed, else a :class:`Refusal`."""
        buckets = self._buckets
        if buckets is None:
            buckets = self._buckets = {}
        bucket = buckets.get(category)
        if bucket is None:
            bucket = buckets[category] = TokenBucket(self.config.spec(category), now)
        wait = bucket.take(now, cost)
        if wait is None:
            return None
        if self._refused is None:
            self._refused = {}
        self._refused[category] = self._refused.get(category, 0) + 1
        if self._refusals is None:
            self._refusals = TokenBucket(self.config.refusals, now)
        abusive = self._refusals.take(now) is not None
        return Refusal(category, wait, abusive)

    def check_frame(
        self, frame_type: str, now: float, *, kind: str | None = None, size: int = 0
    ) -> Refusal | None:
        """Charge one client frame; *size* (its encoded bytes) is the cost of images."""
        category = category_for_frame(frame_type, kind)
        if category is None:
            return None
        return self.check(category, now, float(size) if category == "images" else 1.0)


@dataclass(frozen=True, slots=True)
class BanLadder:
    """Escalating temporary bans: the n-th offence bans for ``steps[n-1]`` seconds.

    Offences are forgotten after ``forgive_after`` seconds without a new one.
    """

    steps: tuple[float, ...] = (60.0, 300.0, 1800.0, 7200.0, 86400.0)
    forgive_after: float = 86400.0

    def duration(self, offences: int) -> float:
        """Ban length for the *offences*-th offence (1-based); the last step repeats."""
        return self.steps[min(max(offences, 1), len(self.steps)) - 1]


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Connection admission limits. Exempt sources skip per-address limits and bans."""

    max_connections: int = 10_000
    max_per_address: int = 64
    connect_rate: RateSpec = RateSpec(rate=2.0, burst=30.0)
    connect_refusals: RateSpec = RateSpec(rate=0.2, burst=20.0)
    """Refused connection attempts an address may make before it counts as an offence."""
    bans: BanLadder = field(default_factory=BanLadder)
    exempt: tuple[str, ...] = ("127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class SourceBan:
    """What the gate remembers of an offending source (an :func:`address_key`).

    ``until`` is when its ban ends; ``offences`` and ``last_offence`` drive the ladder.
    Times are the gate clock's (wall-clock when persisted).
    """

    source: str
    offences: int
    last_offence: float
    until: float


class BanStorage(Protocol):
    """Where a :class:`ConnectionGate` keeps bans and offence counts across restarts."""

    def load_bans(self, now: float, forgive_before: float) -> list[SourceBan]:
        """Sources still banned at *now* or with an offence after *forgive_before*."""
        ...

    def save_ban(self, ban: SourceBan) -> None:
        """Insert or replace the record of ``ban.source``."""
        ...

    def prune_bans(self, now: float, forgive_before: float) -> None:
        """Delete sources no longer banned at *now* whose last offence is forgiven."""
        ...


class _Source:
    __slots__ = ("ban_until", "bucket", "last_offence", "offences", "open", "strikes")

    def __init__(self, config: GateConfig, now: float) -> None:
        self.open = 0
        self.bucket = TokenBucket(config.connect_rate, now)
        self.strikes = TokenBucket(config.connect_refusals, now)
        self.offences = 0
        self.last_offence = 0.0
        self.ban_until = 0.0


class ConnectionGate:
    """Admission control for new connections, keyed by source (IPv4 or IPv6 /64).

    With *storage* (or after :meth:`attach`), bans and offence counts are loaded and
    written through on each offence; *clock* must then be a wall clock such as
    ``time.time``, so stored times still mean something after a restart.
    """

    def __init__(
        self,
        config: GateConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        storage: BanStorage | None = None,
    ) -> None:
        self.config = config or GateConfig()
        self._clock = clock
        self._sources: dict[str, _Source] = {}
        self._exempt = frozenset(address_key(a) for a in self.config.exempt)
        self.open_total = 0
        self._storage: BanStorage | None = None
        if storage is not None:
            self.attach(storage)

    def attach(self, storage: BanStorage, now: float | None = None) -> None:
        """Persist bans in *storage* from now on, restoring the ones it holds.

        A restored source starts with no open connections and full buckets; if it is
        also known in memory, the later ban and the higher offence count win.
        """
        if self._clock is time.monotonic:
            raise ValueError("a persisted connection gate needs a wall clock (clock=time.time)")
        t = self._now(now)
        self._storage = storage
        for ban in storage.load_bans(t, t - self.config.bans.forgive_after):
            src = self._source(ban.source, t)
            src.offences = max(src.offences, ban.offences)
            src.last_offence = max(src.last_offence, ban.last_offence)
            src.ban_until = max(src.ban_until, ban.until)

    def try_open(self, addr: str, now: float | None = None) -> Refusal | None:
        """Admit a connection from *addr* (then call :meth:`close` when it ends).

        Refusal categories: ``banned``, ``server_full``, ``per_address``, ``connect_rate``.
        """
        t = self._now(now)
        if self.open_total >= self.config.max_connections:
            return Refusal("server_full", 5.0)
        key = address_key(addr)
        if key in self._exempt:
            self.open_total += 1
            return None
        src = self._source(key, t)
        if src.ban_until > t:
            return Refusal("banned", src.ban_until - t, abusive=True)
        if src.open >= self.config.max_per_address:
            return self._refuse(key, src, Refusal("per_address", 5.0), t)
        wait = src.bucket.take(t)
        if wait is not None:
            return self._refuse(key, src, Refusal("connect_rate", wait), t)
        src.open += 1
        self.open_total += 1
        return None

    def close(self, addr: str) -> None:
        """A connection admitted by :meth:`try_open` ended."""
        self.open_total = max(0, self.open_total - 1)
        src = self._sources.get(address_key(addr))
        if src is not None and src.open > 0:
            src.open -= 1

    def offence(self, addr: str, now: float | None = None) -> float:
        """Record an offence by *addr* (e.g. an abusive connection); return the ban length."""
        t = self._now(now)
        key = address_key(addr)
        if key in self._exempt:
            return 0.0
        return self._offend(key, self._source(key, t), t)

    def banned_for(self, addr: str, now: float | None = None) -> float | None:
        """Seconds left of *addr*'s ban, or None if it is not banned."""
        src = self._sources.get(address_key(addr))
        t = self._now(now)
        if src is None or src.ban_until <= t:
            return None
        return src.ban_until - t

    def prune(self, now: float | None = None) -> None:
        """Forget sources with nothing left to remember (call now and then)."""
        t = self._now(now)
        forgive = self.config.bans.forgive_after
        for key, src in list(self._sources.items()):
            if (
                src.open == 0
                and src.ban_until <= t
                and (src.offences == 0 or src.last_offence + forgive <= t)
                and src.bucket.full(t)
                and src.strikes.full(t)
            ):
                del self._sources[key]
        if self._storage is not None:
            self._storage.prune_bans(t, t - forgive)

    def __len__(self) -> int:
        return len(self._sources)

    def _refuse(self, key: str, src: _Source, refusal: Refusal, t: float) -> Refusal:
        if src.strikes.take(t) is None:
            return refusal
        ban = self._offend(key, src, t)
        return Refusal("banned", ban, abusive=True)

    def _offend(self, key: str, src: _Source, t: float) -> float:
        ladder = self.config.bans
        if src.offences and src.last_offence + ladder.forgive_after <= t:
            src.offences = 0
        src.offences += 1
        src.last_offence = t
        ban = ladder.duration(src.offences)
        src.ban_until = max(src.ban_until, t + ban)
        if self._storage is not None:
            self._storage.save_ban(SourceBan(key, src.offences, t, src.ban_until))
        return ban

    def _source(self, key: str, t: float) -> _Source:
        src = self._sources.get(key)
        if src is None:
            src = self._sources[key] = _Source(self.config, t)
        return src

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now
