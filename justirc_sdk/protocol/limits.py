"""Size limits and name rules shared by clients and the server.

The server announces its effective limits in ``welcome``; these are the defaults and
the hard ceilings a decoder applies before it trusts anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CHANNEL_RE",
    "DEFAULT_MAX_FRAME",
    "MAX_BINARY",
    "MAX_BUNDLE",
    "MAX_LIST",
    "MAX_PAYLOAD",
    "MAX_REASON",
    "MAX_TOPIC",
    "NICK_RE",
    "PROTOCOL_VERSION",
    "RESERVED_NICKS",
    "Limits",
    "channel_key",
    "is_reserved_nick",
    "is_valid_channel",
    "is_valid_nick",
    "nick_key",
]

PROTOCOL_VERSION = 1
"""The wire protocol version this code speaks."""

DEFAULT_MAX_FRAME = 64 * 1024
"""Default maximum encoded frame size in bytes, newline included."""

MAX_PAYLOAD = 60 * 1024
"""Longest opaque (base64) payload string inside a message frame."""

MAX_BINARY = 64 * 1024
"""Longest binary body after a frame's header line (see ``bin`` in docs/PROTOCOL.md).

Attachment chunks travel this way: raw bytes, no base64 and no JSON string to scan."""

MAX_BUNDLE = 8 * 1024
"""Longest opaque (base64) public key bundle."""

MAX_TOPIC = 390
MAX_REASON = 300
MAX_LIST = 10_000
"""Most items in any list or mapping inside one frame."""

NICK_RE = re.compile(r"[A-Za-z0-9_\-]{3,20}")
CHANNEL_RE = re.compile(r"#[A-Za-z0-9_\-]{1,50}")
RESERVED_NICKS = frozenset({"server", "admin", "root", "system"})


def is_valid_nick(nick: str) -> bool:
    """True when *nick* is 3-20 characters of ``[A-Za-z0-9_-]``."""
    return NICK_RE.fullmatch(nick) is not None


def is_reserved_nick(nick: str) -> bool:
    """True for the names no user may take, in any letter case."""
    return nick.lower() in RESERVED_NICKS


def nick_key(nick: str) -> str:
    """The case-insensitive identity of a nick (``Alice`` and ``alice`` are one user)."""
    return nick.lower()


def is_valid_channel(name: str) -> bool:
    """True when *name* is ``#`` followed by 1-50 of ``[A-Za-z0-9_-]``."""
    return CHANNEL_RE.fullmatch(name) is not None


def channel_key(name: str) -> str:
    """The case-insensitive identity of a channel (``#Test`` is ``#test``)."""
    return name.lower()


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits one server enforces, announced to clients in ``welcome``."""

    max_frame: int = DEFAULT_MAX_FRAME
    max_payload: int = MAX_PAYLOAD
    max_bundle: int = MAX_BUNDLE
    max_binary: int = MAX_BINARY
