"""Every frame of wire protocol v1 as a typed, validated, immutable object.

A frame is one JSON object with a ``type``; the class registered for that type checks
each field's shape and bounds. Opaque fields (``payload``, ``bundle``) are base64
strings that only clients interpret; a message's ``payload`` may instead be the raw
bytes of a binary body (see :mod:`.codec`). ``id`` is an optional request id that the server
copies into its reply (``ok``, ``error`` or a typed answer).

Direction: ``C`` client to server, ``S`` server to client, ``C/S`` both.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from ._fields import (
    build,
    compile_spec,
    spec,
    v_bool,
    v_enum,
    v_float,
    v_int,
    v_list,
    v_map,
    v_opt,
    v_payload,
    v_record,
    v_str,
)
from .codes import ErrorCode
from .limits import (
    CHANNEL_RE,
    MAX_BINARY,
    MAX_BUNDLE,
    MAX_LIST,
    MAX_PAYLOAD,
    MAX_REASON,
    MAX_TOPIC,
    NICK_RE,
)

__all__ = [
    "FRAME_TYPES",
    "ROLES",
    "Ban",
    "BanEntry",
    "BanList",
    "Banned",
    "Bans",
    "Bye",
    "ChanMsg",
    "ChannelList",
    "ChannelModes",
    "ChannelSummary",
    "CreateAccount",
    "DeleteAccount",
    "Error",
    "FetchKeys",
    "Frame",
    "Hello",
    "Invite",
    "Invited",
    "Join",
    "Joined",
    "Keys",
    "Kick",
    "Kicked",
    "List",
    "LoggedIn",
    "Login",
    "Logout",
    "MemberJoined",
    "MemberLeft",
    "Mode",
    "ModeChanged",
    "Names",
    "NamesReply",
    "Nick",
    "NickChanged",
    "Ok",
    "Part",
    "Passwd",
    "Ping",
    "Pong",
    "PrivMsg",
    "PublishKeys",
    "Quit",
    "Register",
    "Registered",
    "Role",
    "RoleChanged",
    "Topic",
    "TopicChanged",
    "Transfer",
    "Unban",
    "Unbanned",
    "UserOffline",
    "UserOnline",
    "Welcome",
    "Whois",
    "WhoisReply",
]

ROLES = ("owner", "op", "mod", "member")
"""Channel roles from most to least powerful."""

MESSAGE_KINDS = ("msg", "ctl", "file")
"""Traffic classes of opaque messages: chat, key management, attachment chunks.

The server never reads a payload; the kind only selects which rate limit applies.
"""

_nick = v_str(20, min_len=3, pattern=NICK_RE, code=ErrorCode.INVALID_NICK)
_channel = v_str(51, min_len=2, pattern=CHANNEL_RE, code=ErrorCode.INVALID_CHANNEL)
_payload = v_payload(MAX_PAYLOAD, MAX_BINARY)
_reason = v_opt(v_str(MAX_REASON))
_role = v_enum(*ROLES)
_password = v_str(1024)
_account = v_str(20, min_len=3, pattern=NICK_RE, code=ErrorCode.INVALID_NICK)
_time = v_float(0, 1e11)
_id = v_opt(v_str(64, min_len=1))

F = TypeVar("F", bound="Frame")
R = TypeVar("R")
FRAME_TYPES: dict[str, type[Frame]] = {}
"""Frame classes by their wire ``type``."""


def _record(cls: type[R]) -> type[R]:
    compile_spec(cls)
    return cls


def _frame(name: str) -> Any:
    def register(cls: type[F]) -> type[F]:
        cls.type = name
        compile_spec(cls)
        FRAME_TYPES[name] = cls
        return cls

    return register


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """Base of all frames: the wire ``type`` and an optional request ``id``."""

    type: ClassVar[str] = ""
    id: str | None = spec(_id, None)

    @classmethod
    def from_dict(cls: builtins.type[F], data: dict[str, Any]) -> F:
        """Validate a decoded JSON object as this frame type."""
        result: F = build(cls, data)
        return result


# -- records nested inside frames ------------------------------------------------------


@_record
@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelModes:
    """A channel's current modes; ``limit`` 0 means no member limit."""

    invite_only: bool = spec(v_bool, False)
    moderated: bool = spec(v_bool, False)
    secret: bool = spec(v_bool, False)
    topic_lock: bool = spec(v_bool, True)
    limit: int = spec(v_int(0, 100_000), 0)
    has_password: bool = spec(v_bool, False)


@_record
@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelSummary:
    """One line of a channel listing."""

    name: str = spec(_channel)
    members: int = spec(v_int(0, 10_000_000))
    topic: str | None = spec(v_opt(v_str(MAX_TOPIC)), None)


@_record
@dataclass(frozen=True, slots=True, kw_only=True)
class BanEntry:
    """One ban of a channel: the nick it was set on, who set it, and when it expires."""

    nick: str = spec(_nick)
    by: str = spec(_nick)
    reason: str | None = spec(_reason, None)
    until: float | None = spec(v_opt(_time), None)


# -- connection -------------------------------------------------------------------------


@_frame("hello")
@dataclass(frozen=True, slots=True, kw_only=True)
class Hello(Frame):
    """C: first frame of a connection, naming the protocol version spoken."""

    version: int = spec(v_int(0, 1_000_000))
    client: str | None = spec(v_opt(v_str(100)), None)


@_frame("welcome")
@dataclass(frozen=True, slots=True, kw_only=True)
class Welcome(Frame):
    """S: answer to ``hello``: the server's version, name and limits."""

    version: int = spec(v_int(0, 1_000_000))
    server: str = spec(v_str(100))
    max_frame: int = spec(v_int(1024, 1 << 30))
    auth_required: bool = spec(v_bool, False)
    motd: str | None = spec(v_opt(v_str(2000)), None)


@_frame("register")
@dataclass(frozen=True, slots=True, kw_only=True)
class Register(Frame):
    """C: claim a nickname for this connection."""

    nick: str = spec(_nick)


@_frame("registered")
@dataclass(frozen=True, slots=True, kw_only=True)
class Registered(Frame):
    """S: registration succeeded; ``users`` are the nicks online now.

    ``users_total`` (optional) is set when ``users`` is not the complete list: the server
    is above its global-presence threshold (``users`` is then empty) or the list would not
    fit in one frame. It counts every registered user, you included.
    """

    nick: str = spec(_nick)
    users: tuple[str, ...] = spec(v_list(_nick, MAX_LIST), ())
    account: str | None = spec(v_opt(_account), None)
    users_total: int | None = spec(v_opt(v_int(0, 1_000_000_000)), None)


@_frame("nick")
@dataclass(frozen=True, slots=True, kw_only=True)
class Nick(Frame):
    """C: change nickname."""

    nick: str = spec(_nick)


@_frame("nick_changed")
@dataclass(frozen=True, slots=True, kw_only=True)
class NickChanged(Frame):
    """S: a user (possibly you) changed nickname."""

    old: str = spec(_nick)
    new: str = spec(_nick)


@_frame("ping")
@dataclass(frozen=True, slots=True, kw_only=True)
class Ping(Frame):
    """C/S: keepalive; the peer answers ``pong`` with the same token."""

    token: str | None = spec(v_opt(v_str(64)), None)


@_frame("pong")
@dataclass(frozen=True, slots=True, kw_only=True)
class Pong(Frame):
    """C/S: answer to ``ping``."""

    token: str | None = spec(v_opt(v_str(64)), None)


@_frame("quit")
@dataclass(frozen=True, slots=True, kw_only=True)
class Quit(Frame):
    """C: leave the server cleanly."""

    reason: str | None = spec(_reason, None)


@_frame("bye")
@dataclass(frozen=True, slots=True, kw_only=True)
class Bye(Frame):
    """S: the server closes this connection (shutdown, slow consumer, abuse)."""

    reason: str = spec(v_str(MAX_REASON))
    code: str | None = spec(v_opt(v_str(40)), None)


@_frame("ok")
@dataclass(frozen=True, slots=True, kw_only=True)
class Ok(Frame):
    """S: the request with this ``id`` succeeded."""


@_frame("error")
@dataclass(frozen=True, slots=True, kw_only=True)
class Error(Frame):
    """S: a request was refused; ``code`` is an :class:`ErrorCode` value."""

    code: str = spec(v_str(40, min_len=1))
    message: str = spec(v_str(500))
    retry_after: float | None = spec(v_opt(v_float(0, 1e7)), None)
    ref: str | None = spec(v_opt(v_str(40)), None)


# -- presence and keys ------------------------------------------------------------------


@_frame("user_online")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserOnline(Frame):
    """S: a user registered."""

    nick: str = spec(_nick)


@_frame("user_offline")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserOffline(Frame):
    """S: a user disconnected."""

    nick: str = spec(_nick)
    reason: str | None = spec(_reason, None)


@_frame("publish_keys")
@dataclass(frozen=True, slots=True, kw_only=True)
class PublishKeys(Frame):
    """C: publish this user's opaque public key bundle."""

    bundle: str = spec(v_str(MAX_BUNDLE, min_len=1))


@_frame("fetch_keys")
@dataclass(frozen=True, slots=True, kw_only=True)
class FetchKeys(Frame):
    """C: ask for another user's key bundle."""

    nick: str = spec(_nick)


@_frame("keys")
@dataclass(frozen=True, slots=True, kw_only=True)
class Keys(Frame):
    """S: a user's key bundle, exactly as that user published it."""

    nick: str = spec(_nick)
    bundle: str = spec(v_str(MAX_BUNDLE, min_len=1))


@_frame("whois")
@dataclass(frozen=True, slots=True, kw_only=True)
class Whois(Frame):
    """C: ask about a user."""

    nick: str = spec(_nick)


@_frame("whois_reply")
@dataclass(frozen=True, slots=True, kw_only=True)
class WhoisReply(Frame):
    """S: what the asker may know about a user (secret channels only if shared)."""

    nick: str = spec(_nick)
    online: bool = spec(v_bool)
    account: str | None = spec(v_opt(_account), None)
    channels: tuple[str, ...] = spec(v_list(_channel, MAX_LIST), ())
    idle: float | None = spec(v_opt(_time), None)


# -- messages ---------------------------------------------------------------------------


@_frame("privmsg")
@dataclass(frozen=True, slots=True, kw_only=True)
class PrivMsg(Frame):
    """C/S: an opaque message to one user; the server stamps ``sender`` and ``ts``."""

    to: str = spec(_nick)
    payload: str | bytes = spec(_payload)
    kind: str = spec(v_enum(*MESSAGE_KINDS), "msg")
    sender: str | None = spec(v_opt(_nick), None)
    ts: float | None = spec(v_opt(_time), None)


@_frame("chanmsg")
@dataclass(frozen=True, slots=True, kw_only=True)
class ChanMsg(Frame):
    """C/S: an opaque message to a channel; the server stamps ``sender`` and ``ts``."""

    channel: str = spec(_channel)
    payload: str | bytes = spec(_payload)
    kind: str = spec(v_enum(*MESSAGE_KINDS), "msg")
    sender: str | None = spec(v_opt(_nick), None)
    ts: float | None = spec(v_opt(_time), None)


# -- channels ---------------------------------------------------------------------------


@_frame("join")
@dataclass(frozen=True, slots=True, kw_only=True)
class Join(Frame):
    """C: join (or create) a channel; a password set here protects a new channel."""

    channel: str = spec(_channel)
    password: str | None = spec(v_opt(_password), None)


@_frame("joined")
@dataclass(frozen=True, slots=True, kw_only=True)
class Joined(Frame):
    """S: you joined; the channel's state as it is now."""

    channel: str = spec(_channel)
    members: dict[str, str] = spec(v_map(_nick, _role, MAX_LIST))
    topic: str | None = spec(v_opt(v_str(MAX_TOPIC)), None)
    modes: ChannelModes = spec(v_record(ChannelModes), ChannelModes())


@_frame("member_joined")
@dataclass(frozen=True, slots=True, kw_only=True)
class MemberJoined(Frame):
    """S: someone else joined a channel you are in."""

    channel: str = spec(_channel)
    nick: str = spec(_nick)
    role: str = spec(_role, "member")


@_frame("part")
@dataclass(frozen=True, slots=True, kw_only=True)
class Part(Frame):
    """C: leave a channel."""

    channel: str = spec(_channel)
    reason: str | None = spec(_reason, None)


@_frame("member_left")
@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLeft(Frame):
    """S: a member left a channel (parted or disconnected); sent to you too when you part."""

    channel: str = spec(_channel)
    nick: str = spec(_nick)
    reason: str | None = spec(_reason, None)


@_frame("list")
@dataclass(frozen=True, slots=True, kw_only=True)
class List(Frame):
    """C: list the channels (secret ones only to their members)."""


@_frame("channel_list")
@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelList(Frame):
    """S: answer to ``list``."""

    channels: tuple[ChannelSummary, ...] = spec(v_list(v_record(ChannelSummary), MAX_LIST), ())


@_frame("names")
@dataclass(frozen=True, slots=True, kw_only=True)
class Names(Frame):
    """C: ask for a channel's members and their roles."""

    channel: str = spec(_channel)


@_frame("names_reply")
@dataclass(frozen=True, slots=True, kw_only=True)
class NamesReply(Frame):
    """S: answer to ``names``."""

    channel: str = spec(_channel)
    members: dict[str, str] = spec(v_map(_nick, _role, MAX_LIST))


@_frame("topic")
@dataclass(frozen=True, slots=True, kw_only=True)
class Topic(Frame):
    """C: set a channel's topic (empty clears it)."""

    channel: str = spec(_channel)
    topic: str = spec(v_str(MAX_TOPIC))


@_frame("topic_changed")
@dataclass(frozen=True, slots=True, kw_only=True)
class TopicChanged(Frame):
    """S: a channel's topic changed."""

    channel: str = spec(_channel)
    topic: str | None = spec(v_opt(v_str(MAX_TOPIC)), None)
    by: str = spec(_nick)


@_frame("kick")
@dataclass(frozen=True, slots=True, kw_only=True)
class Kick(Frame):
    """C: remove a member from a channel."""

    channel: str = spec(_channel)
    nick: str = spec(_nick)
    reason: str | None = spec(_reason, None)


@_frame("kicked")
@dataclass(frozen=True, slots=True, kw_only=True)
class Kicked(Frame):
    """S: a member was kicked (sent to every member, the kicked one included)."""

    channel: str = spec(_channel)
    nick: str = spec(_nick)
    by: str = spec(_nick)
    reason: str | None = spec(_reason, None)


@_frame("ban")
@dataclass(frozen=True, slots=True, kw_only=True)
class Ban(Frame):
    """C: ban a user from a channel (kicking them if present); ``duration`` in seconds."""

    channel: str = spec(_channel)
    nick: str = spec(_nick)
    duration: float | None = spec(v_opt(v_float(1, 1e9)), None)
    reason: str | None = spec(_reason, None)


@_frame("banned")
@dataclass(frozen=True, slots=True, kw_only=True)
class Banned(Frame):
    """S: a user was banned; ``until`` is a Unix time, ``None`` for a permanent ban."""

    channel: str = spec(_channel)
    nick: str = spec(_nick)
    by: str = spec(_nick)
    reason: str | None = spec(_reason, None)
    until: float | None = spec(v_opt(_time), None)


@_frame("unban")
@dataclass(frozen=True, slots=True, kw_only=True)
class Unban(Frame):
    """C: lift a ban set on *nick*."""

    channel: str = spec(_channel)
    nick: str = spec(_nick)


@_frame("unbanned")
@dataclass(frozen=True, slots=True, kw_only=True)
class Unbanned(Frame):
    """S: a ban was lifted."""

    channel: str = spec(_channel)
    nick: str = spec(_nick)
    by: str = spec(_nick)


@_frame("bans")
@dataclass(frozen=True, slots=True, kw_only=True)
class Bans(Frame):
    """C: list a channel's bans (op and up)."""

    channel: str = spec(_channel)


@_frame("ban_list")
@dataclass(frozen=True, slots=True, kw_only=True)
class BanList(Frame):
    """S: answer to ``bans``."""

    channel: str = spec(_channel)
    bans: tuple[BanEntry, ...] = spec(v_list(v_record(BanEntry), MAX_LIST), ())


@_frame("invite")
@dataclass(frozen=True, slots=True, kw_only=True)
class Invite(Frame):
    """C: invite a user to a channel (lets them past invite-only)."""

    channel: str = spec(_channel)
    nick: str = spec(_nick)


@_frame("invited")
@dataclass(frozen=True, slots=True, kw_only=True)
class Invited(Frame):
    """S: you were invited to a channel."""

    channel: str = spec(_channel)
    by: str = spec(_nick)


@_frame("mode")
@dataclass(frozen=True, slots=True, kw_only=True)
class Mode(Frame):
    """C: change channel modes; fields left out stay as they are.

    ``password`` sets the channel password, and an empty string removes it.
    """

    channel: str = spec(_channel)
    invite_only: bool | None = spec(v_opt(v_bool), None)
    moderated: bool | None = spec(v_opt(v_bool), None)
    secret: bool | None = spec(v_opt(v_bool), None)
    topic_lock: bool | None = spec(v_opt(v_bool), None)
    limit: int | None = spec(v_opt(v_int(0, 100_000)), None)
    password: str | None = spec(v_opt(_password), None)


@_frame("mode_changed")
@dataclass(frozen=True, slots=True, kw_only=True)
class ModeChanged(Frame):
    """S: a channel's modes changed; ``modes`` is the full new state."""

    channel: str = spec(_channel)
    modes: ChannelModes = spec(v_record(ChannelModes))
    by: str = spec(_nick)


@_frame("role")
@dataclass(frozen=True, slots=True, kw_only=True)
class Role(Frame):
    """C: give a member a role (``op``, ``mod`` or back to ``member``)."""

    channel: str = spec(_channel)
    nick: str = spec(_nick)
    role: str = spec(v_enum("op", "mod", "member"))


@_frame("transfer")
@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer(Frame):
    """C: hand channel ownership to another member (owner only); you become op."""

    channel: str = spec(_channel)
    nick: str = spec(_nick)


@_frame("role_changed")
@dataclass(frozen=True, slots=True, kw_only=True)
class RoleChanged(Frame):
    """S: a member's role changed."""

    channel: str = spec(_channel)
    nick: str = spec(_nick)
    role: str = spec(_role)
    by: str = spec(_nick)


# -- accounts ---------------------------------------------------------------------------


@_frame("create_account")
@dataclass(frozen=True, slots=True, kw_only=True)
class CreateAccount(Frame):
    """C: create an account named after your current nick, and log in to it."""

    password: str = spec(_password)


@_frame("login")
@dataclass(frozen=True, slots=True, kw_only=True)
class Login(Frame):
    """C: log in with a password or a session token from an earlier ``logged_in``."""

    account: str = spec(_account)
    password: str | None = spec(v_opt(_password), None)
    token: str | None = spec(v_opt(v_str(200)), None)


@_frame("logged_in")
@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedIn(Frame):
    """S: you are logged in; ``token`` logs in again until ``expires`` (Unix time)."""

    account: str = spec(_account)
    token: str = spec(v_str(200, min_len=1))
    expires: float = spec(_time)


@_frame("logout")
@dataclass(frozen=True, slots=True, kw_only=True)
class Logout(Frame):
    """C: log out and revoke this session's token."""


@_frame("passwd")
@dataclass(frozen=True, slots=True, kw_only=True)
class Passwd(Frame):
    """C: change your account password (revokes every session token)."""

    old: str = spec(_password)
    new: str = spec(_password)


@_frame("delete_account")
@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteAccount(Frame):
    """C: delete your account."""

    password: str = spec(_password)
