"""Accounts: create, log in (password or token), log out, change password, delete, admin.

:class:`AccountStore` works over a given ``sqlite3.Connection`` and creates its own
``accounts`` table (plus ``tokens`` via :class:`~server.tokens.TokenStore`).

Every operation that hashes comes in two faces over one implementation: a blocking
one (``login``) for the admin CLI and tests, and an ``async`` one (``login_async``)
for the server, which runs only the Argon2 step in a worker thread and keeps every
SQLite call on the caller's thread (SQLite connections are not shared across
threads). Internally an operation is a generator that yields the blocking hash work
it needs; the two drivers differ only in where they run that work. Because other
tasks may run while a hash is computed, the finishing database steps re-check state.

Account names follow the nick rules (``[A-Za-z0-9_-]{3,20}``, not reserved) and are
case-insensitive: ``Alice`` and ``alice`` are one account; the spelling used at
creation is kept for display.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import anyio.to_thread

from justirc_sdk.protocol import is_reserved_nick, is_valid_nick, nick_key

from .lockout import Lockout
from .passwords import (
    PRODUCTION,
    Argon2Params,
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from .protection_errors import (
    AccountDisabled,
    AccountExists,
    AccountLocked,
    BadPassword,
    InvalidAccountName,
    NoSuchAccount,
)
from .tokens import DEFAULT_TOKEN_TTL, IssuedToken, TokenStore

__all__ = ["Account", "AccountStore", "validate_account_name"]

T = TypeVar("T")
_Work = Callable[[], object]
_Op = Generator[_Work, object, T]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    key        TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    phc        TEXT NOT NULL,
    created    REAL NOT NULL,
    disabled   INTEGER NOT NULL DEFAULT 0,
    last_login REAL
);
"""


@dataclass(frozen=True, slots=True)
class Account:
    """Public facts about an account (never the password hash)."""

    name: str
    created: float
    disabled: bool
    last_login: float | None

    @property
    def key(self) -> str:
        """The case-insensitive identity of the account."""
        return nick_key(self.name)


def validate_account_name(name: str) -> None:
    """Raise :class:`InvalidAccountName` unless *name* is a valid, unreserved nick."""
    if not is_valid_nick(name):
        raise InvalidAccountName(
            f"{name!r} is not a valid account name: use 3-20 letters, digits, '_' or '-'"
        )
    if is_reserved_nick(name):
        raise InvalidAccountName(f"{name!r} is reserved and cannot be an account name")


class AccountStore:
    """Accounts and their session tokens over one SQLite connection."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        params: Argon2Params = PRODUCTION,
        token_ttl: float = DEFAULT_TOKEN_TTL,
        lockout: Lockout | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._conn = conn
        self._params = params
        self._clock = clock
        self.lockout = lockout if lockout is not None else Lockout()
        with conn:
            conn.executescript(_SCHEMA)
        self.tokens = TokenStore(conn, ttl=token_ttl, clock=clock)

    # -- queries (no hashing) -----------------------------------------------------

    def get(self, name: str) -> Account:
        """The account called *name*; :class:`NoSuchAccount` if there is none."""
        return self._row(name)[0]

    def exists(self, name: str) -> bool:
        """True when *name* is registered (guests may not take that nick)."""
        key = nick_key(name)
        return (
            self._conn.execute("SELECT 1 FROM accounts WHERE key = ?", (key,)).fetchone()
            is not None
        )

    def list(self) -> list[Account]:
        """Every account, by name."""
        rows = self._conn.execute(
            "SELECT name, created, disabled, last_login FROM accounts ORDER BY key"
        ).fetchall()
        return [_account(r) for r in rows]

    def login_token(self, name: str, token: str) -> Account:
        """Log in with a session token; returns the account. Never subject to lockout."""
        self.tokens.resolve(token, name)
        account = self.get(name)
        if account.disabled:
            raise AccountDisabled(f"account {account.name!r} is disabled by an administrator")
        self._touch(account.name)
        return account

    def logout(self, token: str) -> bool:
        """Revoke one session token; True if it was live."""
        return self.tokens.revoke(token)

    def disable(self, name: str) -> None:
        """Admin: refuse every login to *name* and revoke its tokens."""
        self._set_disabled(name, True)
        self.tokens.revoke_all(name)

    def enable(self, name: str) -> None:
        """Admin: allow logins to *name* again."""
        self._set_disabled(name, False)

    # -- blocking faces -------------------------------------------------------------

    def create(self, name: str, password: str) -> Account:
        """Create an account. Blocking (hashes in this thread)."""
        return _run(self._create(name, password))

    def login(self, name: str, password: str, addr: str = "") -> IssuedToken:
        """Log in with a password from source *addr*; returns a new session token."""
        return _run(self._login(name, password, addr))

    def change_password(self, name: str, old: str, new: str, addr: str = "") -> IssuedToken:
        """Change the password (needs *old*); revokes every token and issues a new one."""
        return _run(self._change_password(name, old, new, addr))

    def delete(self, name: str, password: str, addr: str = "") -> None:
        """Delete the account (needs its password) and all its tokens."""
        _run(self._delete(name, password, addr))

    def reset_password(self, name: str, new: str) -> None:
        """Admin: set a new password without the old one; revokes every token."""
        _run(self._reset_password(name, new))

    # -- async faces (hash in a worker thread) ---------------------------------------

    async def create_async(self, name: str, password: str) -> Account:
        """:meth:`create`, hashing off the event loop."""
        return await _run_async(self._create(name, password))

    async def login_async(self, name: str, password: str, addr: str = "") -> IssuedToken:
        """:meth:`login`, hashing off the event loop."""
        return await _run_async(self._login(name, password, addr))

    async def change_password_async(
        self, name: str, old: str, new: str, addr: str = ""
    ) -> IssuedToken:
        """:meth:`change_password`, hashing off the event loop."""
        return await _run_async(self._change_password(name, old, new, addr))

    async def delete_async(self, name: str, password: str, addr: str = "") -> None:
        """:meth:`delete`, hashing off the event loop."""
        await _run_async(self._delete(name, password, addr))

    async def reset_password_async(self, name: str, new: str) -> None:
        """:meth:`reset_password`, hashing off the event loop."""
        await _run_async(self._reset_password(name, new))

    # -- operations as generators that yield their hash work ----------------------------

    def _create(self, name: str, password: str) -> _Op[Account]:
        validate_account_name(name)
        check_password_policy(password, name)
        if self.exists(name):
            raise AccountExists(f"an account named {name!r} already exists")
        phc = str((yield partial(hash_password, password, self._params)))
        now = self._clock()
        try:
            with self._conn:
                self._conn.execute(
                    "INSERT INTO accounts(key, name, phc, created) VALUES (?, ?, ?, ?)",
                    (nick_key(name), name, phc, now),
                )
        except sqlite3.IntegrityError:
            raise AccountExists(f"an account named {name!r} already exists") from None
        return Account(name, now, False, None)

    def _verify(self, name: str, password: str, addr: str) -> _Op[tuple[Account, str]]:
        """Shared password check: lockout, disabled, Argon2 verify, failure accounting."""
        account, phc = self._row(name)
        if account.disabled:
            raise AccountDisabled(f"account {account.name!r} is disabled by an administrator")
        wait = self.lockout.check(account.key, addr)
        if wait is not None:
            raise AccountLocked(
                f"too many failed logins for {account.name!r}; try again in {wait:.0f} s",
                wait,
            )
        if not (yield partial(verify_password, password, phc)):
            self.lockout.record_failure(account.key, addr)
            raise BadPassword(f"wrong password for account {account.name!r}")
        self.lockout.record_success(account.key, addr)
        return account, phc

    def _login(self, name: str, password: str, addr: str) -> _Op[IssuedToken]:
        account, phc = yield from self._verify(name, password, addr)
        if needs_rehash(phc, self._params):
            new_phc = str((yield partial(hash_password, password, self._params)))
            with self._conn:  # only if nobody changed it meanwhile
                self._conn.execute(
                    "UPDATE accounts SET phc = ? WHERE key = ? AND phc = ?",
                    (new_phc, account.key, phc),
                )
        self._row(name)  # still there after the hash? (deleted meanwhile -> NoSuchAccount)
        self._touch(account.name)
        return self.tokens.issue(account.key)

    def _change_password(self, name: str, old: str, new: str, addr: str) -> _Op[IssuedToken]:
        check_password_policy(new, name)
        account, phc = yield from self._verify(name, old, addr)
        new_phc = str((yield partial(hash_password, new, self._params)))
        with self._conn:
            cur = self._conn.execute(
                "UPDATE accounts SET phc = ? WHERE key = ? AND phc = ?",
                (new_phc, account.key, phc),
            )
        if cur.rowcount == 0:
            raise BadPassword(f"the password of {account.name!r} changed meanwhile; try again")
        self.tokens.revoke_all(account.key)
        return self.tokens.issue(account.key)

    def _delete(self, name: str, password: str, addr: str) -> _Op[None]:
        account, _ = yield from self._verify(name, password, addr)
        with self._conn:
            self._conn.execute("DELETE FROM accounts WHERE key = ?", (account.key,))
        self.tokens.revoke_all(account.key)
        self.lockout.forget(account.key)

    def _reset_password(self, name: str, new: str) -> _Op[None]:
        account = self.get(name)
        check_password_policy(new, account.name)
        new_phc = str((yield partial(hash_password, new, self._params)))
        with self._conn:
            cur = self._conn.execute(
                "UPDATE accounts SET phc = ? WHERE key = ?", (new_phc, account.key)
            )
        if cur.rowcount == 0:
            raise NoSuchAccount(f"no account named {name!r}")
        self.tokens.revoke_all(account.key)
        self.lockout.forget(account.key)

    # -- helpers ----------------------------------------------------------------------

    def _row(self, name: str) -> tuple[Account, str]:
        row = self._conn.execute(
            "SELECT name, created, disabled, last_login, phc FROM accounts WHERE key = ?",
            (nick_key(name),),
        ).fetchone()
        if row is None:
            raise NoSuchAccount(f"no account named {name!r}")
        return _account(row[:4]), str(row[4])

    def _set_disabled(self, name: str, disabled: bool) -> None:
        with self._conn:
            cur = self._conn.execute(
                "UPDATE accounts SET disabled = ? WHERE key = ?", (int(disabled), nick_key(name))
            )
        if cur.rowcount == 0:
            raise NoSuchAccount(f"no account named {name!r}")

    def _touch(self, name: str) -> None:
        with self._conn:
            self._conn.execute(
                "UPDATE accounts SET last_login = ? WHERE key = ?", (self._clock(), nick_key(name))
            )


def _account(row: tuple[object, ...]) -> Account:
    name, created, disabled, last_login = row
    return Account(
        str(name),
        float(created),  # type: ignore[arg-type]
        bool(disabled),
        None if last_login is None else float(last_login),  # type: ignore[arg-type]
    )


def _run(op: _Op[T]) -> T:
    """Drive an operation, doing its hash work right here."""
    try:
        work = next(op)
        while True:
            try:
                result = work()
            except BaseException as exc:
                work = op.throw(exc)
            else:
                work = op.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def _run_async(op: _Op[T]) -> T:
    """Drive an operation, doing its hash work in a worker thread."""
    try:
        work = next(op)
        while True:
            try:
                result = await anyio.to_thread.run_sync(work)
            except BaseException as exc:
                work = op.throw(exc)
            else:
                work = op.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
