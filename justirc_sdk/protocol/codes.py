"""Stable, machine-readable error codes carried by ``error`` frames."""

from __future__ import annotations

from enum import Enum

__all__ = ["ErrorCode"]


class ErrorCode(str, Enum):
    """Every code a server may put in an ``error`` frame.

    The values are part of the wire protocol and never change meaning; clients map
    them to typed exceptions.
    """

    BAD_FRAME = "bad_frame"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_VERSION = "unsupported_version"
    TOO_LARGE = "too_large"
    NOT_REGISTERED = "not_registered"
    ALREADY_REGISTERED = "already_registered"
    INVALID_NICK = "invalid_nick"
    NICK_IN_USE = "nick_in_use"
    NICK_RESERVED = "nick_reserved"
    NO_SUCH_NICK = "no_such_nick"
    NO_KEYS = "no_keys"
    INVALID_CHANNEL = "invalid_channel"
    NO_SUCH_CHANNEL = "no_such_channel"
    NOT_IN_CHANNEL = "not_in_channel"
    ALREADY_IN_CHANNEL = "already_in_channel"
    FORBIDDEN = "forbidden"
    BANNED = "banned"
    BAD_PASSWORD = "bad_password"
    CHANNEL_FULL = "channel_full"
    INVITE_ONLY = "invite_only"
    MODERATED = "moderated"
    RATE_LIMITED = "rate_limited"
    AUTH_REQUIRED = "auth_required"
    ACCOUNT_EXISTS = "account_exists"
    NO_SUCH_ACCOUNT = "no_such_account"
    ACCOUNT_LOCKED = "account_locked"
    ACCOUNT_DISABLED = "account_disabled"
    INVALID_TOKEN = "invalid_token"
    WEAK_PASSWORD = "weak_password"
    SERVER_FULL = "server_full"
    SLOW_CONSUMER = "slow_consumer"
    TIMEOUT = "timeout"
    SHUTTING_DOWN = "shutting_down"
    INTERNAL = "internal"
