"""The session's view of the server, as a pure state machine (no I/O).

:class:`ClientState` folds server frames about presence and channels into state (who
is online, which channels you are in, their members, roles, topic and modes) and
returns the events a user should see. Encrypted traffic is not handled here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import events as ev
from . import protocol as p
from .protocol import channel_key, nick_key

__all__ = ["ChannelState", "ClientState"]


@dataclass
class ChannelState:
    """What you know about one channel you are in."""

    name: str
    members: dict[str, str] = field(default_factory=dict)
    topic: str | None = None
    modes: p.ChannelModes = field(default_factory=p.ChannelModes)
    password: str | None = None

    def role_of(self, nick: str) -> str | None:
        """The role of *nick* in this channel (case-insensitive), or ``None``."""
        key = nick_key(nick)
        for member, role in self.members.items():
            if nick_key(member) == key:
                return role
        return None

    def _remove(self, nick: str) -> None:
        key = nick_key(nick)
        for member in list(self.members):
            if nick_key(member) == key:
                del self.members[member]


def _modes_dict(modes: p.ChannelModes) -> dict[str, bool | int]:
    return {
        "invite_only": modes.invite_only,
        "moderated": modes.moderated,
        "secret": modes.secret,
        "topic_lock": modes.topic_lock,
        "limit": modes.limit,
        "has_password": modes.has_password,
    }


class ClientState:
    """Presence and channel state, updated by :meth:`handle`."""

    def __init__(self, nick: str) -> None:
        self.nick = nick
        self.account: str | None = None
        self.users: dict[str, str] = {}  # nick_key -> nick as spelled
        self.channels: dict[str, ChannelState] = {}  # channel_key -> state

    def is_me(self, nick: str) -> bool:
        """True when *nick* is this session's own nick."""
        return nick_key(nick) == nick_key(self.nick)

    def channel(self, name: str) -> ChannelState | None:
        """The state of a channel you are in, by any letter case."""
        return self.channels.get(channel_key(name))

    def reset_connection(self) -> None:
        """Forget presence (a reconnect re-learns it); channels are kept to rejoin."""
        self.users.clear()

    def handle(self, frame: p.Frame) -> list[ev.Event]:
        """Apply a presence/channel frame and return the events it means for the user."""
        handler = _HANDLERS.get(type(frame))
        return handler(self, frame) if handler is not None else []

    # -- handlers ---------------------------------------------------------------------

    def _registered(self, f: p.Registered) -> list[ev.Event]:
        self.nick = f.nick
        self.account = f.account
        self.users = {nick_key(n): n for n in f.users}
        return []

    def _online(self, f: p.UserOnline) -> list[ev.Event]:
        self.users[nick_key(f.nick)] = f.nick
        return [ev.UserOnline(f.nick)]

    def _offline(self, f: p.UserOffline) -> list[ev.Event]:
        self.users.pop(nick_key(f.nick), None)
        return [ev.UserOffline(f.nick)]

    def _nick_changed(self, f: p.NickChanged) -> list[ev.Event]:
        if self.is_me(f.old):
            self.nick = f.new
        self.users.pop(nick_key(f.old), None)
        self.users[nick_key(f.new)] = f.new
        for state in self.channels.values():
            role = state.role_of(f.old)
            if role is not None:
                state._remove(f.old)
                state.members[f.new] = role
        return [ev.NickChanged(f.old, f.new)]

    def _joined(self, f: p.Joined) -> list[ev.Event]:
        existing = self.channels.get(channel_key(f.channel))
        password = existing.password if existing else None
        self.channels[channel_key(f.channel)] = ChannelState(
            f.channel, dict(f.members), f.topic, f.modes, password
        )
        return [ev.ChannelJoined(f.channel, dict(f.members), f.topic)]

    def _member_joined(self, f: p.MemberJoined) -> list[ev.Event]:
        state = self.channel(f.channel)
        if state is None or self.is_me(f.nick):
            return []
        state.members[f.nick] = f.role
        return [ev.MemberJoined(f.channel, f.nick, f.role)]

    def _member_left(self, f: p.MemberLeft) -> list[ev.Event]:
        state = self.channel(f.channel)
        if state is None:
            return []
        if self.is_me(f.nick):
            del self.channels[channel_key(f.channel)]
            return [ev.ChannelLeft(f.channel, f.reason)]
        state._remove(f.nick)
        return [ev.MemberLeft(f.channel, f.nick, f.reason)]

    def _removed(
        self, channel: str, nick: str, by: str, reason: str | None, banned: bool
    ) -> list[ev.Event]:
        state = self.channel(channel)
        if state is None:
            return []
        out: list[ev.Event] = [ev.Kicked(channel, nick, by, reason, banned)]
        if self.is_me(nick):
            del self.channels[channel_key(channel)]
            out.append(ev.ChannelLeft(channel, reason or ("banned" if banned else "kicked")))
        elif state.role_of(nick) is not None:
            state._remove(nick)
        else:
            return [] if banned else out  # a ban on someone absent changes no membership
        return out

    def _kicked(self, f: p.Kicked) -> list[ev.Event]:
        return self._removed(f.channel, f.nick, f.by, f.reason, banned=False)

    def _banned(self, f: p.Banned) -> list[ev.Event]:
        return self._removed(f.channel, f.nick, f.by, f.reason, banned=True)

    def _topic(self, f: p.TopicChanged) -> list[ev.Event]:
        state = self.channel(f.channel)
        if state is not None:
            state.topic = f.topic or None
        return [ev.TopicChanged(f.channel, f.topic or None, f.by)]

    def _modes(self, f: p.ModeChanged) -> list[ev.Event]:
        state = self.channel(f.channel)
        if state is not None:
            state.modes = f.modes
        return [ev.ModeChanged(f.channel, _modes_dict(f.modes), f.by)]

    def _role(self, f: p.RoleChanged) -> list[ev.Event]:
        state = self.channel(f.channel)
        if state is not None:
            state._remove(f.nick)
            state.members[f.nick] = f.role
        return [ev.RoleChanged(f.channel, f.nick, f.role, f.by)]

    def _names(self, f: p.NamesReply) -> list[ev.Event]:
        state = self.channel(f.channel)
        if state is not None:
            state.members = dict(f.members)
        return []

    def _invited(self, f: p.Invited) -> list[ev.Event]:
        return [ev.Invited(f.channel, f.by)]


_HANDLERS: dict[type[p.Frame], Callable[[ClientState, Any], list[ev.Event]]] = {
    p.Registered: ClientState._registered,
    p.UserOnline: ClientState._online,
    p.UserOffline: ClientState._offline,
    p.NickChanged: ClientState._nick_changed,
    p.Joined: ClientState._joined,
    p.MemberJoined: ClientState._member_joined,
    p.MemberLeft: ClientState._member_left,
    p.Kicked: ClientState._kicked,
    p.Banned: ClientState._banned,
    p.TopicChanged: ClientState._topic,
    p.ModeChanged: ClientState._modes,
    p.RoleChanged: ClientState._role,
    p.NamesReply: ClientState._names,
    p.Invited: ClientState._invited,
}
