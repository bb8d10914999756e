"""Typed errors of the server's protection layer (accounts, limits, TLS pinning).

Every error carries the wire :class:`~justirc_sdk.protocol.ErrorCode` it maps to in
``code``, so the router can turn any :class:`ProtectionError` into an ``error`` frame
without a lookup table. Messages are written for the person who will read them.
"""

from __future__ import annotations

from justirc_sdk.protocol import ErrorCode

from .errors import ServerError

__all__ = [
    "AccountDisabled",
    "AccountExists",
    "AccountLocked",
    "BadPassword",
    "InvalidAccountName",
    "InvalidNetwork",
    "InvalidToken",
    "MalformedHash",
    "NoSuchAccount",
    "PinMismatch",
    "ProtectionError",
    "WeakPassword",
]


class ProtectionError(ServerError):
    """Root of the protection layer's errors (a :class:`ServerError`); ``code`` is the wire code."""

    code: ErrorCode = ErrorCode.INTERNAL
    retry_after: float | None = None


class InvalidAccountName(ProtectionError):
    """The account name breaks the nick rules or is reserved."""

    code = ErrorCode.INVALID_NICK


class AccountExists(ProtectionError):
    """An account with this name (in any letter case) already exists."""

    code = ErrorCode.ACCOUNT_EXISTS


class NoSuchAccount(ProtectionError):
    """No account has this name."""

    code = ErrorCode.NO_SUCH_ACCOUNT


class BadPassword(ProtectionError):
    """The password does not match the account's."""

    code = ErrorCode.BAD_PASSWORD


class AccountLocked(ProtectionError):
    """Too many failed logins; try again after ``retry_after`` seconds."""

    code = ErrorCode.ACCOUNT_LOCKED

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AccountDisabled(ProtectionError):
    """An administrator disabled this account."""

    code = ErrorCode.ACCOUNT_DISABLED


class InvalidToken(ProtectionError):
    """The session token is unknown, expired, revoked or belongs to another account."""

    code = ErrorCode.INVALID_TOKEN


class WeakPassword(ProtectionError):
    """The new password breaks the password policy."""

    code = ErrorCode.WEAK_PASSWORD


class MalformedHash(ProtectionError):
    """A stored password hash is not an Argon2id PHC string (corrupt database?)."""

    code = ErrorCode.INTERNAL


class InvalidNetwork(ProtectionError, ValueError):
    """An IP address or CIDR range could not be parsed."""

    code = ErrorCode.BAD_FRAME


class PinMismatch(ProtectionError):
    """The server's TLS certificate does not match the pinned fingerprint."""

    code = ErrorCode.FORBIDDEN
