"""IP filter: allow/deny rules for addresses and CIDR ranges, stored in SQLite.

Rules live in the ``ip_rules`` table so the admin CLI can edit them in the same
database a running server uses. The server keeps a compiled copy for a fast
:meth:`IPFilter.is_allowed` check at accept time, and calls :meth:`IPFilter.poll`
about once a second: it reads one counter row and reloads only if a writer (this
process or another) bumped it.

Decision rule: there is at most one rule per network (adding replaces it), and the
most specific active rule (longest prefix) that contains the address decides. With no
matching rule, ``blacklist`` mode
allows and ``whitelist`` mode refuses. So ``deny 10.0.0.0/8`` plus ``allow 10.1.2.3``
lets exactly 10.1.2.3 through, and a temporary ban of one address inside an allowed
range refuses that address until the ban expires. IPv4-mapped IPv6 addresses
(``::ffff:1.2.3.4``) are treated as the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .protection_errors import InvalidNetwork

__all__ = [
    "Action",
    "IPFilter",
    "IPRule",
    "Mode",
    "address_key",
    "normalize_address",
    "parse_network",
]

Mode = Literal["blacklist", "whitelist"]
Action = Literal["allow", "deny"]
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ip_rules (
    network TEXT PRIMARY KEY,
    action  TEXT NOT NULL CHECK (action IN ('allow', 'deny')),
    expires REAL,
    reason  TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ip_filter_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT OR IGNORE INTO ip_filter_state(id, generation) VALUES (1, 0);
"""


def normalize_address(addr: str) -> _Address:
    """Parse *addr*, dropping an IPv6 zone (``%eth0``) and unwrapping IPv4-mapped IPv6."""
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0].strip())
    except ValueError:
        raise InvalidNetwork(f"{addr!r} is not an IPv4 or IPv6 address") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def address_key(addr: str, ipv6_prefix: int = 64) -> str:
    """The identity used to count one source: the IPv4 address, or its IPv6 /64.

    Anyone with IPv6 usually controls a whole /64, so counting single IPv6 addresses
    would let one host dodge per-address limits. Unparseable input is used verbatim
    (for example a Unix socket path), so callers never crash on odd peers.
    """
    try:
        ip = normalize_address(addr)
    except InvalidNetwork:
        return addr
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, ipv6_prefix), strict=False))
    return str(ip)


def parse_network(text: str) -> _Network:
    """Parse an address or CIDR range (host bits must be zero); IPv4-mapped ranges unwrap."""
    try:
        net = ipaddress.ip_network(text.split("%", 1)[0].strip(), strict=True)
    except ValueError as exc:
        raise InvalidNetwork(f"{text!r} is not an IP address or CIDR range: {exc}") from None
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96:
        mapped = net.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network((mapped, net.prefixlen - 96))
    return net


@dataclass(frozen=True, slots=True)
class IPRule:
    """One stored rule. ``expires`` is Unix time, or None for a permanent rule."""

    network: str
    action: Action
    expires: float | None = None
    reason: str = ""
    created: float = 0.0

    def active(self, now: float) -> bool:
        """True unless the rule has expired."""
        return self.expires is None or self.expires > now


class _Table:
    """Rules of one IP version, indexed by prefix length for longest-prefix lookup."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.by_len: dict[int, dict[int, IPRule]] = {}
        self.lengths: list[int] = []

    def add(self, net: _Network, rule: IPRule) -> None:
        self.by_len.setdefault(net.prefixlen, {})[int(net.network_address)] = rule
        self.lengths = sorted(self.by_len, reverse=True)

    def lookup(self, ip: int, now: float) -> IPRule | None:
        full = (1 << self.bits) - 1
        for length in self.lengths:
            mask = full ^ ((1 << (self.bits - length)) - 1)
            rule = self.by_len[length].get(ip & mask)
            if rule is not None and rule.active(now):
                return rule
        return None


class IPFilter:
    """Allow/deny rules over a SQLite connection, with a compiled in-memory copy."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        mode: Mode = "blacklist",
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if mode not in ("blacklist", "whitelist"):
            raise ValueError(f"ip filter mode must be 'blacklist' or 'whitelist', not {mode!r}")
        self._conn = conn
        self._clock = clock
        self.mode: Mode = mode
        self._generation = -1
        self._v4 = _Table(32)
        self._v6 = _Table(128)
        with conn:
            conn.executescript(_SCHEMA)
        self.reload()

    # -- the hot path ---------------------------------------------------------------

    def is_allowed(self, addr: str, now: float | None = None) -> bool:
        """True when a peer at *addr* may connect. Unparseable addresses are refused."""
        try:
            ip = normalize_address(addr)
        except InvalidNetwork:
            return False
        when = self._clock() if now is None else now
        table = self._v4 if ip.version == 4 else self._v6
        rule = table.lookup(int(ip), when)
        if rule is None:
            return self.mode == "blacklist"
        return rule.action == "allow"

    def matching_rule(self, addr: str, now: float | None = None) -> IPRule | None:
        """The active rule that decides for *addr*, if any (for logs and the admin CLI)."""
        ip = normalize_address(addr)
        table = self._v4 if ip.version == 4 else self._v6
        return table.lookup(int(ip), self._clock() if now is None else now)

    # -- change detection -----------------------------------------------------------

    def _stored_generation(self) -> int:
        row = self._conn.execute("SELECT generation FROM ip_filter_state WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def changed(self) -> bool:
        """True when the stored rules changed since the last (re)load. One tiny query."""
        return self._stored_generation() != self._generation

    def poll(self) -> bool:
        """Reload if the rules changed; True if a reload happened. Call ~once a second."""
        if self.changed():
            self.reload()
            return True
        return False

    def reload(self) -> None:
        """Re-read every rule from the database and recompile the lookup tables."""
        generation = self._stored_generation()
        v4, v6 = _Table(32), _Table(128)
        for rule in self._read_rules():
            net = parse_network(rule.network)
            (v4 if net.version == 4 else v6).add(net, rule)
        self._v4, self._v6, self._generation = v4, v6, generation

    # -- editing (used by the admin CLI and by the server for automatic bans) --------

    def add_rule(
        self,
        network: str,
        action: Action = "deny",
        *,
        expires: float | None = None,
        reason: str = "",
    ) -> IPRule:
        """Add or replace the rule for *network* (an address or CIDR range)."""
        if action not in ("allow", "deny"):
            raise ValueError(f"ip rule action must be 'allow' or 'deny', not {action!r}")
        net = parse_network(network)
        rule = IPRule(str(net), action, expires, reason, self._clock())
        with self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO ip_rules(network, action, expires, reason, created)"
                " VALUES (?, ?, ?, ?, ?)",
                (rule.network, rule.action, rule.expires, rule.reason, rule.created),
            )
            self._bump()
        self.reload()
        return rule

    def ban(self, network: str, duration: float, *, reason: str = "") -> IPRule:
        """Deny *network* for *duration* seconds from now (a temporary ban)."""
        if duration <= 0:
            raise ValueError("ban duration must be positive")
        return self.add_rule(
            network, "deny", expires=self._clock() + duration, reason=reason or "temporary ban"
        )

    def remove_rule(self, network: str) -> bool:
        """Remove the rule for exactly *network*; True if there was one."""
        net = parse_network(network)
        with self._conn:
            cur = self._conn.execute("DELETE FROM ip_rules WHERE network = ?", (str(net),))
            if cur.rowcount:
                self._bump()
        self.reload()
        return cur.rowcount > 0

    def rules(self, *, include_expired: bool = False) -> list[IPRule]:
        """Stored rules, most specific first within each IP version."""
        now = self._clock()
        rules = [r for r in self._read_rules() if include_expired or r.active(now)]
        return sorted(rules, key=lambda r: _sort_key(parse_network(r.network)))

    def purge_expired(self) -> int:
        """Delete expired temporary rules; return how many."""
        with self._conn:
            cur = self._conn.execute(
                "DELETE FROM ip_rules WHERE expires IS NOT NULL AND expires <= ?", (self._clock(),)
            )
            if cur.rowcount:
                self._bump()
        self.reload()
        return cur.rowcount

    def _bump(self) -> None:
        self._conn.execute("UPDATE ip_filter_state SET generation = generation + 1 WHERE id = 1")

    def _read_rules(self) -> list[IPRule]:
        rows = self._conn.execute(
            "SELECT network, action, expires, reason, created FROM ip_rules"
        ).fetchall()
        return [
            IPRule(
                str(n),
                "allow" if a == "allow" else "deny",
                None if e is None else float(e),
                str(r),
                float(c),
            )
            for n, a, e, r, c in rows
        ]


def _sort_key(net: _Network) -> tuple[int, int, int]:
    return (net.version, -net.prefixlen, int(net.network_address))
