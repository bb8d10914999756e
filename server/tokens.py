"""Session tokens: random, stored only as a SHA-256 hash, expiring and revocable.

A token is ``secrets.token_urlsafe(32)`` (256 random bits). The database keeps only
``sha256(token)``, so a stolen database cannot be replayed as logins; because the token
has full entropy, an unsalted fast hash is enough (there is nothing to brute-force).
Lookups are by hash, so no secret-dependent comparison happens in Python.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from justirc_sdk.protocol import nick_key

from .protection_errors import InvalidToken

__all__ = [
    "DEFAULT_MAX_TOKENS_PER_ACCOUNT",
    "DEFAULT_TOKEN_TTL",
    "IssuedToken",
    "TokenStore",
    "hash_token",
    "new_token",
]

DEFAULT_TOKEN_TTL = 30 * 24 * 3600.0
"""Tokens expire 30 days after they are issued."""

DEFAULT_MAX_TOKENS_PER_ACCOUNT = 50
"""Issuing more than this many live tokens for one account drops the oldest."""

_MAX_TOKEN_LEN = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    hash    TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_account ON tokens(account);
"""


def new_token() -> str:
    """A fresh session token with 256 random bits (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hex SHA-256 under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just issued: give ``token`` to the client once; it is not stored."""

    token: str
    account: str
    expires: float

    def __repr__(self) -> str:  # never leak the secret into logs
        return f"IssuedToken(account={self.account!r}, expires={self.expires!r})"


class TokenStore:
    """Session tokens in the ``tokens`` table of a SQLite connection.

    *clock* returns Unix time; inject one in tests to expire tokens without sleeping.
    Accounts are keyed by :func:`~justirc_sdk.protocol.nick_key`.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        ttl: float = DEFAULT_TOKEN_TTL,
        max_per_account: int = DEFAULT_MAX_TOKENS_PER_ACCOUNT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl <= 0 or max_per_account < 1:
            raise ValueError("token ttl and max_per_account must be positive")
        self._conn = conn
        self._ttl = ttl
        self._max = max_per_account
        self._clock = clock
        with conn:
            conn.executescript(_SCHEMA)

    @property
    def ttl(self) -> float:
        """Lifetime of a new token in seconds."""
        return self._ttl

    def issue(self, account: str) -> IssuedToken:
        """Create and store a token for *account*; the oldest beyond the cap are dropped."""
        key = nick_key(account)
        now = self._clock()
        token = new_token()
        expires = now + self._ttl
        with self._conn:
            self._conn.execute(
                "INSERT INTO tokens(hash, account, created, expires) VALUES (?, ?, ?, ?)",
                (hash_token(token), key, now, expires),
            )
            self._conn.execute(
                "DELETE FROM tokens WHERE account = ? AND hash NOT IN ("
                " SELECT hash FROM tokens WHERE account = ? AND expires > ?"
                " ORDER BY created DESC LIMIT ?)",
                (key, key, now, self._max),
            )
        return IssuedToken(token, key, expires)

    def resolve(self, token: str, account: str | None = None) -> str:
        """Return the account key *token* logs in to.

        Raises :class:`InvalidToken` if the token is unknown, expired, revoked, or (when
        *account* is given) belongs to another account.
        """
        if not token or len(token) > _MAX_TOKEN_LEN:
            raise InvalidToken("session token is not valid; log in with your password")
        row = self._conn.execute(
            "SELECT account, expires FROM tokens WHERE hash = ?", (hash_token(token),)
        ).fetchone()
        if row is None:
            raise InvalidToken("session token is unknown or revoked; log in with your password")
        owner, expires = str(row[0]), float(row[1])
        if expires <= self._clock():
            self.revoke(token)
            raise InvalidToken("session token has expired; log in with your password")
        if account is not None and nick_key(account) != owner:
            raise InvalidToken("session token belongs to another account")
        return owner

    def revoke(self, token: str) -> bool:
        """Revoke one token; True if it existed."""
        with self._conn:
            cur = self._conn.execute("DELETE FROM tokens WHERE hash = ?", (hash_token(token),))
        return cur.rowcount > 0

    def revoke_all(self, account: str) -> int:
        """Revoke every token of *account*; return how many there were."""
        with self._conn:
            cur = self._conn.execute("DELETE FROM tokens WHERE account = ?", (nick_key(account),))
        return cur.rowcount

    def count(self, account: str) -> int:
        """How many unexpired tokens *account* has."""
        row = self._conn.execute(
            "SELECT COUNT(*) FROM tokens WHERE account = ? AND expires > ?",
            (nick_key(account), self._clock()),
        ).fetchone()
        return int(row[0])

    def purge_expired(self) -> int:
        """Delete expired tokens; return how many. Call now and then (e.g. hourly)."""
        with self._conn:
            cur = self._conn.execute("DELETE FROM tokens WHERE expires <= ?", (self._clock(),))
        return cur.rowcount
