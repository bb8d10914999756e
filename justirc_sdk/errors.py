"""The SDK's exception hierarchy, rooted at :class:`JustIRCError`.

Everything the SDK raises on purpose derives from :class:`JustIRCError`. Refusals
from the server arrive as :class:`ServerError` subclasses chosen by the error
``code`` (see ``docs/PROTOCOL.md``), so callers can ``except RateLimited as e`` and
read ``e.retry_after``.
"""

from __future__ import annotations

__all__ = [
    "AlreadyInChannel",
    "AuthRequired",
    "BadPassword",
    "Banned",
    "ChannelFull",
    "ConnectError",
    "ConnectionLost",
    "FileError",
    "FileTooLarge",
    "Forbidden",
    "ImageError",
    "InvalidName",
    "InviteOnly",
    "JustIRCError",
    "MessageTooLarge",
    "Moderated",
    "NickInUse",
    "NoKeys",
    "NoSuchChannel",
    "NoSuchNick",
    "NotConnected",
    "NotInChannel",
    "RateLimited",
    "RequestTimeout",
    "ServerError",
    "TLSError",
    "error_for_code",
]


class JustIRCError(Exception):
    """Base class of every error raised by ``justirc_sdk``."""


class ConnectError(JustIRCError):
    """The server could not be reached or refused the handshake."""


class TLSError(ConnectError):
    """The TLS handshake failed or the certificate did not match the pinned fingerprint."""


class NotConnected(JustIRCError):
    """The session is closed or currently reconnecting; nothing was sent."""


class ConnectionLost(NotConnected):
    """The connection dropped while a request was waiting for its reply."""


class RequestTimeout(JustIRCError, TimeoutError):
    """The server did not answer a request in time."""


class ImageError(JustIRCError):
    """An image is not an acceptable PNG, JPEG, GIF or WebP, or is too large."""


class FileError(JustIRCError):
    """A file cannot be sent: unreadable, or refused (see :class:`FileTooLarge`)."""


class FileTooLarge(FileError):
    """A file is larger than ``max_file_bytes`` (``Session.connect``)."""


class MessageTooLarge(JustIRCError):
    """The text is longer than one message may carry (``MAX_TEXT_BYTES`` of UTF-8)."""


class ServerError(JustIRCError):
    """The server refused a request; ``code`` is the protocol's error code."""

    code: str = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidName(ServerError):
    """A nickname or channel name breaks the naming rules."""

    code = "invalid_nick"


class NickInUse(ServerError):
    """The nickname is taken (or reserved, or protected by an account)."""

    code = "nick_in_use"


class NoSuchNick(ServerError):
    """No user with that nickname is online."""

    code = "no_such_nick"


class NoKeys(ServerError):
    """The user has not published a key bundle, so nothing can be encrypted for them."""

    code = "no_keys"


class NoSuchChannel(ServerError):
    """The channel does not exist."""

    code = "no_such_channel"


class NotInChannel(ServerError):
    """You (or the target) are not in that channel."""

    code = "not_in_channel"


class AlreadyInChannel(ServerError):
    """You are already in that channel."""

    code = "already_in_channel"


class Forbidden(ServerError):
    """Your role does not allow that."""

    code = "forbidden"


class Banned(ServerError):
    """You are banned from that channel."""

    code = "banned"


class BadPassword(ServerError):
    """The channel or account password is wrong."""

    code = "bad_password"


class ChannelFull(ServerError):
    """The channel has reached its member limit."""

    code = "channel_full"


class InviteOnly(ServerError):
    """The channel is invite-only and you were not invited."""

    code = "invite_only"


class Moderated(ServerError):
    """The channel is moderated: only mods and up may speak."""

    code = "moderated"


class AuthRequired(ServerError):
    """The server requires logging in to an account first."""

    code = "auth_required"


class RateLimited(ServerError):
    """Too many requests; try again after ``retry_after`` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, *, code: str | None = None, retry_after: float = 1.0) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


_BY_CODE: dict[str, type[ServerError]] = {
    cls.code: cls
    for cls in (
        NickInUse,
        NoSuchNick,
        NoKeys,
        NoSuchChannel,
        NotInChannel,
        AlreadyInChannel,
        Forbidden,
        Banned,
        BadPassword,
        ChannelFull,
        InviteOnly,
        Moderated,
        AuthRequired,
    )
}
_BY_CODE.update(
    {
        "invalid_nick": InvalidName,
        "invalid_channel": InvalidName,
        "nick_reserved": NickInUse,
    }
)


def error_for_code(code: str, message: str, retry_after: float | None = None) -> ServerError:
    """The typed exception for an ``error`` frame's *code*."""
    if code in ("rate_limited", "server_full"):
        return RateLimited(message, retry_after=retry_after or 1.0)
    cls = _BY_CODE.get(code, ServerError)
    return cls(message, code=code)
