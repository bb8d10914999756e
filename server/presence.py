"""Who is online and who sits in which channel: the state a multi-node server would share.

The router only talks to :class:`Presence`, a small structural interface. This module's
:class:`LocalPresence` keeps everything in process memory; a later multi-node mode can
implement the same interface over Redis (hashes for nicks and membership, pub/sub for
fan-out) without touching the router's rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

__all__ = ["LocalPresence", "Presence"]


class Presence(Protocol):
    """Nick ownership and channel membership (with live roles) by connection id."""

    def claim_nick(self, conn: int, nick: str) -> bool:
        """Give *nick* to *conn* (replacing its old nick); False if someone else has it."""
        ...

    def release(self, conn: int) -> str | None:
        """Forget *conn* entirely (nick and memberships); return the nick it had."""
        ...

    def lookup(self, nick: str) -> int | None:
        """The connection that holds *nick* (any letter case)."""
        ...

    def nick_of(self, conn: int) -> str | None:
        """The nick of *conn*, ``None`` when not registered."""
        ...

    def online(self) -> list[str]:
        """Every registered nick."""
        ...

    def count(self) -> int:
        """How many connections are registered (cheap: no list is built)."""
        ...

    def registered(self) -> Iterable[int]:
        """Every registered connection."""
        ...

    def join(self, channel: str, conn: int, role: str) -> None:
        """Add *conn* to *channel* (a channel key) with *role*."""
        ...

    def leave(self, channel: str, conn: int) -> None:
        """Remove *conn* from *channel*."""
        ...

    def set_role(self, channel: str, conn: int, role: str) -> None:
        """Change the live role of a member."""
        ...

    def members(self, channel: str) -> Mapping[int, str]:
        """Connections in *channel* and their roles (empty when nobody is there)."""
        ...

    def member_conns(self, channel: str) -> tuple[int, ...]:
        """Connections in *channel* as a tuple that never changes once returned.

        The fan-out path hands it to the shell as is; implementations cache it until
        the membership changes, so relaying a message builds no list.
        """
        ...

    def channels_of(self, conn: int) -> list[str]:
        """Keys of the channels *conn* is in."""
        ...

    def peers(self, conn: int) -> set[int]:
        """Connections sharing at least one channel with *conn* (*conn* excluded)."""
        ...


_EMPTY: Mapping[int, str] = {}


class LocalPresence:
    """In-memory :class:`Presence` for a single server process."""

    def __init__(self) -> None:
        self._by_nick: dict[str, int] = {}
        self._nick: dict[int, str] = {}
        self._members: dict[str, dict[int, str]] = {}
        self._joined: dict[int, set[str]] = {}
        self._tuples: dict[str, tuple[int, ...]] = {}
        """Cached :meth:`member_conns` per channel, dropped on any membership change."""

    def claim_nick(self, conn: int, nick: str) -> bool:
        key = nick.lower()
        holder = self._by_nick.get(key)
        if holder is not None and holder != conn:
            return False
        old = self._nick.get(conn)
        if old is not None:
            del self._by_nick[old.lower()]
        self._by_nick[key] = conn
        self._nick[conn] = nick
        return True

    def release(self, conn: int) -> str | None:
        for channel in self._joined.pop(conn, set()):
            self._drop(channel, conn)
        nick = self._nick.pop(conn, None)
        if nick is not None:
            del self._by_nick[nick.lower()]
        return nick

    def lookup(self, nick: str) -> int | None:
        return self._by_nick.get(nick.lower())

    def nick_of(self, conn: int) -> str | None:
        return self._nick.get(conn)

    def online(self) -> list[str]:
        return sorted(self._nick.values(), key=str.lower)

    def registered(self) -> Iterable[int]:
        return self._nick.keys()

    def count(self) -> int:
        return len(self._nick)

    def join(self, channel: str, conn: int, role: str) -> None:
        self._tuples.pop(channel, None)
        self._members.setdefault(channel, {})[conn] = role
        self._joined.setdefault(conn, set()).add(channel)

    def leave(self, channel: str, conn: int) -> None:
        self._drop(channel, conn)
        joined = self._joined.get(conn)
        if joined is not None:
            joined.discard(channel)
            if not joined:
                del self._joined[conn]

    def set_role(self, channel: str, conn: int, role: str) -> None:
        members = self._members.get(channel)
        if members is not None and conn in members:
            members[conn] = role

    def members(self, channel: str) -> Mapping[int, str]:
        return self._members.get(channel, _EMPTY)

    def member_conns(self, channel: str) -> tuple[int, ...]:
        conns = self._tuples.get(channel)
        if conns is None:
            members = self._members.get(channel)
            if members is None:
                return ()
            conns = self._tuples[channel] = tuple(members)
        return conns

    def channels_of(self, conn: int) -> list[str]:
        return sorted(self._joined.get(conn, ()))

    def peers(self, conn: int) -> set[int]:
        found: set[int] = set()
        for channel in self._joined.get(conn, ()):
            found.update(self._members.get(channel, _EMPTY))
        found.discard(conn)
        return found

    def _drop(self, channel: str, conn: int) -> None:
        self._tuples.pop(channel, None)
        members = self._members.get(channel)
        if members is not None:
            members.pop(conn, None)
            if not members:
                del self._members[channel]
