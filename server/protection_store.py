"""Login lockouts and connection-gate bans in the SQLite store, so a restart forgives nobody.

:class:`ProtectionStore` is the optional storage collaborator of
:class:`~server.lockout.Lockout` (a :class:`~server.lockout.LockoutStorage`) and of
:class:`~server.ratelimit.ConnectionGate` (a :class:`~server.ratelimit.BanStorage`).
Those stay sans-IO and decide *when* to write: only when a restriction starts, changes
or ends, never for an ordinary connection or a login that clears nothing. Tables:

* ``lockout_pairs`` (account, source): the recent failure times of a locked pair;
* ``lockout_accounts`` (account): the account-wide failure times once over the threshold;
* ``gate_bans`` (source): ban end, offence count and last offence of an offending source.

Failure times are a JSON list; ``last`` is the newest one, for pruning. Reads happen at
start (and fail loudly with :class:`~server.errors.StoreError`); a failed write is
logged and skipped, because the restriction still holds in memory and refusing the
login or connection it belongs to would help nobody.
"""

from __future__ import annotations

import json
import logging
import sqlite3

from .errors import StoreError
from .lockout import FailureRecord
from .ratelimit import SourceBan
from .store import Store

__all__ = ["ProtectionStore"]

_log = logging.getLogger(__name__)

_MIGRATIONS = [
    """
    CREATE TABLE lockout_pairs (
        account TEXT NOT NULL,
        source TEXT NOT NULL,
        failures TEXT NOT NULL,
        last REAL NOT NULL,
        PRIMARY KEY (account, source)
    );
    CREATE TABLE lockout_accounts (
        account TEXT PRIMARY KEY,
        failures TEXT NOT NULL,
        last REAL NOT NULL
    );
    CREATE TABLE gate_bans (
        source TEXT PRIMARY KEY,
        offences INTEGER NOT NULL,
        last_offence REAL NOT NULL,
        ban_until REAL NOT NULL
    )
    """
]


class ProtectionStore:
    """Lockout failure lists and gate bans in the tables of one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        store.migrate("protection", _MIGRATIONS)
        self._db = store.connection

    # -- lockout (LockoutStorage) ---------------------------------------------------------

    def load_failures(self, since: float) -> list[FailureRecord]:
        """Records with a failure after *since*, most recent first."""
        try:
            pairs = self._db.execute(
                "SELECT account, source, failures, last FROM lockout_pairs WHERE last > ?",
                (since,),
            ).fetchall()
            accounts = self._db.execute(
                "SELECT account, NULL, failures, last FROM lockout_accounts WHERE last > ?",
                (since,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read stored login lockouts: {exc}") from None
        rows = sorted(pairs + accounts, key=lambda row: float(row[3]), reverse=True)
        records = []
        for account, source, failures, _last in rows:
            times = _times(failures)
            if times is None:
                _log.warning("ignoring a corrupt stored lockout of account %r", account)
                continue
            records.append(FailureRecord(str(account), _opt_str(source), times))
        return records

    def save_failures(self, record: FailureRecord) -> None:
        """Insert or replace one record (``source`` None: the account-wide one)."""
        if not record.failures:
            self.delete_failures(record.account, record.source)
            return
        failures, last = json.dumps(list(record.failures)), max(record.failures)
        if record.source is None:
            self._write(
                "INSERT INTO lockout_accounts (account, failures, last) VALUES (?, ?, ?)"
                " ON CONFLICT(account) DO UPDATE SET"
                " failures = excluded.failures, last = excluded.last",
                (record.account, failures, last),
            )
        else:
            self._write(
                "INSERT INTO lockout_pairs (account, source, failures, last) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(account, source) DO UPDATE SET"
                " failures = excluded.failures, last = excluded.last",
                (record.account, record.source, failures, last),
            )

    def delete_failures(self, account: str, source: str | None) -> None:
        """Delete one record (``source`` None: the account-wide one)."""
        if source is None:
            self._write("DELETE FROM lockout_accounts WHERE account = ?", (account,))
        else:
            self._write(
                "DELETE FROM lockout_pairs WHERE account = ? AND source = ?", (account, source)
            )

    def forget_account(self, account: str) -> None:
        """Delete every record of *account* (deleted, or its password reset)."""
        self._write("DELETE FROM lockout_pairs WHERE account = ?", (account,))
        self._write("DELETE FROM lockout_accounts WHERE account = ?", (account,))

    def prune_failures(self, before: float) -> None:
        """Delete records whose last failure is at or before *before*."""
        self._write("DELETE FROM lockout_pairs WHERE last <= ?", (before,))
        self._write("DELETE FROM lockout_accounts WHERE last <= ?", (before,))

    # -- connection gate (BanStorage) -----------------------------------------------------

    def load_bans(self, now: float, forgive_before: float) -> list[SourceBan]:
        """Sources still banned at *now* or with an offence after *forgive_before*."""
        try:
            rows = self._db.execute(
                "SELECT source, offences, last_offence, ban_until FROM gate_bans"
                " WHERE ban_until > ? OR last_offence > ?",
                (now, forgive_before),
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read stored connection bans: {exc}") from None
        return [SourceBan(str(s), int(o), float(lo), float(u)) for s, o, lo, u in rows]

    def save_ban(self, ban: SourceBan) -> None:
        """Insert or replace the record of ``ban.source``."""
        self._write(
            "INSERT INTO gate_bans (source, offences, last_offence, ban_until)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET"
            " offences = excluded.offences, last_offence = excluded.last_offence,"
            " ban_until = excluded.ban_until",
            (ban.source, ban.offences, ban.last_offence, ban.until),
        )

    def prune_bans(self, now: float, forgive_before: float) -> None:
        """Delete sources no longer banned at *now* whose last offence is forgiven."""
        self._write(
            "DELETE FROM gate_bans WHERE ban_until <= ? AND last_offence <= ?",
            (now, forgive_before),
        )

    # -- helpers --------------------------------------------------------------------------

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        try:
            self._db.execute(sql, params)
        except sqlite3.Error:
            _log.exception("could not persist protection state; it holds until restart")


def _times(text: object) -> tuple[float, ...] | None:
    try:
        values = json.loads(str(text))
        return tuple(float(v) for v in values)
    except (ValueError, TypeError):
        return None


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
