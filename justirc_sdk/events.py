"""Events a :class:`~justirc_sdk.Session` emits, as frozen dataclasses.

Iterate them with ``async for event in session.events()`` or wait for one with
``await session.wait_for(events.Message, check=...)``. ``channel`` is ``None`` for
private conversations. ``verified`` tells whether the sender's identity key was
verified by comparing safety numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ChannelJoined",
    "ChannelLeft",
    "DecryptionFailed",
    "Disconnected",
    "ErrorReceived",
    "Event",
    "EventsDropped",
    "FileMessage",
    "HandlerFailed",
    "ImageMessage",
    "Invited",
    "KeyChanged",
    "KeysRotated",
    "Kicked",
    "MemberJoined",
    "MemberLeft",
    "Message",
    "ModeChanged",
    "NickChanged",
    "Reconnected",
    "RoleChanged",
    "TopicChanged",
    "UserOffline",
    "UserOnline",
]


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of every session event."""


@dataclass(frozen=True, slots=True)
class Message(Event):
    """A decrypted text message; ``channel`` is ``None`` for a private message."""

    sender: str
    text: str
    channel: str | None
    timestamp: float
    verified: bool = False
    action: bool = False
    """True for an action (``/me waves``): render as ``* sender text``."""


@dataclass(frozen=True, slots=True)
class ImageMessage(Event):
    """A decrypted, re-validated image; ``data`` are the image file's bytes."""

    sender: str
    channel: str | None
    data: bytes = field(repr=False)
    filename: str
    mime_type: str
    width: int
    height: int
    caption: str | None
    timestamp: float
    verified: bool = False


@dataclass(frozen=True, slots=True)
class FileMessage(Event):
    """A decrypted file; ``data`` are its bytes.

    Only its integrity and sender are checked, never its content: treat it as untrusted.
    ``filename`` is made safe by the SDK (a bare name, no directories or control
    characters); ``mime_type`` is what the sender declared.
    """

    sender: str
    channel: str | None
    data: bytes = field(repr=False)
    filename: str
    mime_type: str
    size: int
    caption: str | None
    timestamp: float
    verified: bool = False


@dataclass(frozen=True, slots=True)
class ChannelJoined(Event):
    """You joined *channel* (also after a reconnect)."""

    channel: str
    members: dict[str, str]
    topic: str | None


@dataclass(frozen=True, slots=True)
class ChannelLeft(Event):
    """You are no longer in *channel* (you left, were kicked or banned)."""

    channel: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class MemberJoined(Event):
    """Someone joined a channel you are in."""

    channel: str
    nick: str
    role: str = "member"


@dataclass(frozen=True, slots=True)
class MemberLeft(Event):
    """A member left a channel you are in (parted or disconnected)."""

    channel: str
    nick: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Kicked(Event):
    """*nick* (possibly you) was kicked or banned from *channel* by *by*."""

    channel: str
    nick: str
    by: str
    reason: str | None = None
    banned: bool = False


@dataclass(frozen=True, slots=True)
class TopicChanged(Event):
    """A channel's topic changed (``None`` when cleared)."""

    channel: str
    topic: str | None
    by: str


@dataclass(frozen=True, slots=True)
class ModeChanged(Event):
    """A channel's modes changed; ``modes`` maps mode name to its new value."""

    channel: str
    modes: dict[str, bool | int]
    by: str


@dataclass(frozen=True, slots=True)
class RoleChanged(Event):
    """A member's role in a channel changed."""

    channel: str
    nick: str
    role: str
    by: str


@dataclass(frozen=True, slots=True)
class Invited(Event):
    """You were invited to *channel*."""

    channel: str
    by: str


@dataclass(frozen=True, slots=True)
class NickChanged(Event):
    """A user (possibly you) changed nickname."""

    old: str
    new: str


@dataclass(frozen=True, slots=True)
class UserOnline(Event):
    """A user connected to the server."""

    nick: str


@dataclass(frozen=True, slots=True)
class UserOffline(Event):
    """A user left the server."""

    nick: str


@dataclass(frozen=True, slots=True)
class KeyChanged(Event):
    """*nick* now presents a different identity key than the one pinned.

    Nothing is sent to a verified contact until the change is accepted with
    :meth:`Session.accept_key_change` and, ideally, re-verified.
    """

    nick: str
    old_fingerprint: str
    new_fingerprint: str


@dataclass(frozen=True, slots=True)
class KeysRotated(Event):
    """Keys were rotated with *peer* (a nick or a channel name); ``epoch`` is the new one."""

    peer: str
    epoch: int
    by: str


@dataclass(frozen=True, slots=True)
class DecryptionFailed(Event):
    """A message from *sender* could not be decrypted or authenticated and was dropped."""

    sender: str
    channel: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Disconnected(Event):
    """The connection was lost; the session reconnects unless it was closed."""

    reason: str
    will_reconnect: bool = True


@dataclass(frozen=True, slots=True)
class Reconnected(Event):
    """The session is connected again: re-registered, logged in, channels rejoined."""

    attempts: int = 1


@dataclass(frozen=True, slots=True)
class ErrorReceived(Event):
    """The server reported an error that no pending request was waiting for."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class EventsDropped(Event):
    """This iterator fell behind and *count* events were dropped (its buffer was full)."""

    count: int


@dataclass(frozen=True, slots=True)
class HandlerFailed(Event):
    """A handler registered with :meth:`Session.on` raised; the error is also logged."""

    handler: str
    event: Event
    error: BaseException
