"""Administration against the data directory, and how a running server picks it up.

The admin CLI and the server open the same SQLite file (WAL mode allows a writer next
to a running server). Every admin change is written to its table *and* appended to
``admin_changes``; the server polls that table (one indexed SELECT) every
``poll_interval`` seconds and applies what is new: it closes sessions of a disabled or
reset account, forgets a dropped channel (its members get ``kicked`` by ``server``) and
updates a channel's owner. IP rules have their own change counter
(:meth:`IPFilter.poll`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from justirc_sdk.protocol import nick_key

from .accounts import Account, AccountStore
from .channels import ChannelRegistry
from .errors import ServerError
from .ipfilter import IPFilter, IPRule, Mode
from .passwords import Argon2Params
from .protection_store import ProtectionStore
from .store import Store

__all__ = ["AdminSession", "Change", "ChangeLog", "ChannelRow", "NoSuchChannel"]

_SCHEMA = [
    """
    CREATE TABLE admin_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        created REAL NOT NULL
    )
    """
]


class NoSuchChannel(ServerError):
    """The channel is not registered."""


@dataclass(frozen=True, slots=True)
class Change:
    """One admin change: ``kind`` is account_disabled, account_enabled, password_reset,
    channel_dropped or channel_owner; ``target`` an account name or channel key."""

    id: int
    kind: str
    target: str


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """A registered channel as the admin CLI lists it."""

    name: str
    owner: str
    created: float
    topic: str | None


class ChangeLog:
    """The ``admin_changes`` table of a :class:`Store`."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        store.migrate("admin", _SCHEMA)
        self._db = store.connection
        self._clock = clock

    def record(self, kind: str, target: str) -> None:
        """Append a change for running servers to pick up."""
        self._db.execute(
            "INSERT INTO admin_changes (kind, target, created) VALUES (?, ?, ?)",
            (kind, target, self._clock()),
        )

    def last_id(self) -> int:
        """The id of the newest change (0 when none)."""
        row = self._db.execute("SELECT MAX(id) FROM admin_changes").fetchone()
        return int(row[0] or 0)

    def since(self, last: int) -> list[Change]:
        """Changes newer than *last*, oldest first."""
        rows = self._db.execute(
            "SELECT id, kind, target FROM admin_changes WHERE id > ? ORDER BY id", (last,)
        ).fetchall()
        return [Change(int(i), str(k), str(t)) for i, k, t in rows]


class AdminSession:
    """Admin operations on one data directory (what ``justirc-server admin`` runs)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        ip_mode: Mode = "blacklist",
        params: Argon2Params | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = Store.in_data_dir(data_dir)
        try:
            db = self.store.connection
            self.changes = ChangeLog(self.store, clock)
            self.accounts = (
                AccountStore(db, clock=clock)
                if params is None
                else AccountStore(db, params=params, clock=clock)
            )
            self.ip = IPFilter(db, ip_mode, clock=clock)
            ChannelRegistry(self.store)  # creates the channel tables if missing
        except BaseException:
            self.store.close()
            raise

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    # -- accounts ---------------------------------------------------------------------

    def list_accounts(self) -> list[Account]:
        """Every account."""
        return self.accounts.list()

    def disable(self, name: str) -> None:
        """Refuse logins, revoke tokens and close live sessions of *name*."""
        self.accounts.disable(name)
        self.changes.record("account_disabled", nick_key(name))

    def enable(self, name: str) -> None:
        """Allow logins to *name* again."""
        self.accounts.enable(name)
        self.changes.record("account_enabled", nick_key(name))

    def reset_password(self, name: str, password: str) -> None:
        """Set a new password, revoke tokens and close live sessions of *name*."""
        self.accounts.reset_password(name, password)
        # clears a stored lockout even while the server is stopped
        ProtectionStore(self.store).forget_account(nick_key(name))
        self.changes.record("password_reset", nick_key(name))

    # -- ip rules ---------------------------------------------------------------------

    def ip_rules(self) -> list[IPRule]:
        """Active rules, most specific first."""
        return self.ip.rules()

    # -- channels ---------------------------------------------------------------------

    def list_channels(self) -> list[ChannelRow]:
        """Every registered channel."""
        rows = self.store.connection.execute(
            "SELECT name, owner, created, topic FROM channels ORDER BY key"
        ).fetchall()
        return [ChannelRow(str(n), str(o), float(c), t) for n, o, c, t in rows]

    def drop_channel(self, name: str) -> None:
        """Unregister a channel (roles, bans and all); live members are removed."""
        key = name.lower()
        cur = self.store.connection.execute("DELETE FROM channels WHERE key = ?", (key,))
        if cur.rowcount == 0:
            raise NoSuchChannel(f"no registered channel {name}")
        self.changes.record("channel_dropped", key)

    def set_owner(self, name: str, account: str) -> None:
        """Give a channel to *account* (which must exist)."""
        self.accounts.get(account)
        key = name.lower()
        identity = f"account:{nick_key(account)}"
        db = self.store.connection
        cur = db.execute("UPDATE channels SET owner = ? WHERE key = ?", (identity, key))
        if cur.rowcount == 0:
            raise NoSuchChannel(f"no registered channel {name}")
        db.execute("DELETE FROM channel_roles WHERE channel = ? AND identity = ?", (key, identity))
        self.changes.record("channel_owner", key)

    def channel_owner(self, key: str) -> str | None:
        """The stored owner identity of channel *key*."""
        row = self.store.connection.execute(
            "SELECT owner FROM channels WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else str(row[0])


def read_owner(db: sqlite3.Connection, key: str) -> str | None:
    """The stored owner identity of channel *key* (used by the server on pick-up)."""
    row = db.execute("SELECT owner FROM channels WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])
