"""Channel commands: join, part, list, names, topic, moderation, modes, channel messages.

Used by :class:`server.router.Router`; pure state changes plus outbox entries, no I/O.
The permission rules themselves live in :mod:`server.permissions`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from justirc_sdk.protocol import (
    Ban,
    BanEntry,
    BanList,
    Bans,
    ChanMsg,
    ChannelList,
    ChannelSummary,
    ErrorCode,
    Invite,
    Invited,
    Join,
    Joined,
    Kick,
    Kicked,
    MemberJoined,
    MemberLeft,
    Mode,
    ModeChanged,
    Names,
    NamesReply,
    Part,
    Role,
    RoleChanged,
    Topic,
    TopicChanged,
    Transfer,
    Unban,
    Unbanned,
)
from justirc_sdk.protocol import Banned as BannedFrame
from justirc_sdk.protocol import List as ListFrame
from justirc_sdk.protocol.limits import MAX_LIST

from . import permissions as perm
from .channels import BanRecord, Channel, ChannelRegistry, hash_password, verify_password
from .presence import Presence
from .relay import encode_relay
from .routing import Client, Outbox, Refusal

__all__ = ["ChannelCommands"]

_log = logging.getLogger(__name__)


def _forbidden(what: str) -> Refusal:
    return Refusal(ErrorCode.FORBIDDEN, what)


class ChannelCommands:
    """The channel half of the router; shares the router's state objects."""

    def __init__(
        self,
        *,
        presence: Presence,
        registry: ChannelRegistry,
        clients: Mapping[int, Client],
        outbox: Outbox,
        clock: Callable[[], float],
        guest_expiry: float = 0.0,
    ) -> None:
        self.presence = presence
        self.registry = registry
        self.clients = clients
        self.out = outbox
        self.clock = clock
        self.guest_expiry = guest_expiry

    def expire_empty(self) -> list[str]:
        """Run the registry's sweep of empty channels; returns the names it dropped."""
        presence = self.presence
        dropped = self.registry.sweep(
            self.clock(), lambda key: bool(presence.members(key)), self.guest_expiry
        )
        for channel in dropped:
            _log.info("channel %s expired after %g s empty", channel.name, self.guest_expiry)
            for client in self.clients.values():
                client.uninvite(channel.key)
        return [channel.name for channel in dropped]

    # -- lookups ------------------------------------------------------------------------

    def _channel(self, name: str) -> Channel:
        channel = self.registry.get(name.lower())
        if channel is None:
            raise Refusal(ErrorCode.NO_SUCH_CHANNEL, f"no channel {name}")
        return channel

    def _my_role(self, channel: Channel, conn: int) -> str:
        role = self.presence.members(channel.key).get(conn)
        if role is None:
            raise Refusal(ErrorCode.NOT_IN_CHANNEL, f"you are not in {channel.name}")
        return role

    def _member(self, channel: Channel, nick: str) -> tuple[int, str]:
        target = self.presence.lookup(nick)
        if target is None:
            raise Refusal(ErrorCode.NO_SUCH_NICK, f"{nick} is not online")
        role = self.presence.members(channel.key).get(target)
        if role is None:
            raise Refusal(ErrorCode.NOT_IN_CHANNEL, f"{nick} is not in {channel.name}")
        return target, role

    def _nick(self, conn: int) -> str:
        nick = self.presence.nick_of(conn)
        assert nick is not None  # only registered connections reach channel commands
        return nick

    def _roster(self, channel: Channel) -> dict[str, str]:
        return {self._nick(c): role for c, role in self.presence.members(channel.key).items()}

    # -- membership ---------------------------------------------------------------------

    def join(self, conn: int, frame: Join) -> None:
        """Join (creating and registering it if new) a channel, applying every gate."""
        client = self.clients[conn]
        key = frame.channel.lower()
        now = self.clock()
        channel = self.registry.get(key)
        if channel is None:
            channel = Channel(
                key=key,
                name=frame.channel,
                owner=client.primary_identity(),
                created=now,
                password_hash=hash_password(frame.password) if frame.password else None,
            )
            self.registry.create(channel)
            role = "owner"
        else:
            if conn in self.presence.members(key):
                raise Refusal(ErrorCode.ALREADY_IN_CHANNEL, f"you are already in {channel.name}")
            self.registry.purge_expired(channel, now)
            identities = client.identities()
            role = channel.role_of(identities)
            if role != "owner":
                self._gate(channel, client, frozenset(identities), frame.password, now)
        client.uninvite(key)
        others = list(self.presence.members(key))
        self.presence.join(key, conn, role)
        assert client.nick is not None
        self.out.broadcast(others, MemberJoined(channel=channel.name, nick=client.nick, role=role))
        self.out.frame(
            conn,
            Joined(
                id=frame.id,
                channel=channel.name,
                members=self._roster(channel),
                topic=channel.topic,
                modes=channel.modes(),
            ),
        )

    def _gate(
        self,
        channel: Channel,
        client: Client,
        ids: frozenset[str],
        password: str | None,
        now: float,
    ) -> None:
        """Refuse a join that a ban, the password, invite-only or the limit forbids."""
        assert client.nick is not None
        ban = channel.find_ban(ids, client.nick.lower(), now)
        if ban is not None:
            until = "" if ban.until is None else f" for {max(1, round(ban.until - now))} s"
            raise Refusal(ErrorCode.BANNED, f"you are banned from {channel.name}{until}")
        if channel.password_hash is not None and (
            password is None or not verify_password(password, channel.password_hash)
        ):
            raise Refusal(ErrorCode.BAD_PASSWORD, f"wrong password for {channel.name}")
        if channel.invite_only and not client.is_invited(channel.key):
            raise Refusal(ErrorCode.INVITE_ONLY, f"{channel.name} is invite-only")
        if channel.limit and len(self.presence.members(channel.key)) >= channel.limit:
            raise Refusal(ErrorCode.CHANNEL_FULL, f"{channel.name} is full")

    def part(self, conn: int, frame: Part) -> None:
        """Leave a channel; every member (you included) gets ``member_left``."""
        channel = self._channel(frame.channel)
        self._my_role(channel, conn)
        left = MemberLeft(channel=channel.name, nick=self._nick(conn), reason=frame.reason)
        self.out.broadcast(self.presence.members(channel.key), left, conn, frame.id)
        self.presence.leave(channel.key, conn)

    def disconnect(self, conn: int, reason: str | None) -> None:
        """Tell the other members of each of *conn*'s channels that it left."""
        nick = self._nick(conn)
        for key in self.presence.channels_of(conn):
            channel = self.registry.get(key)
            if channel is None:  # pragma: no cover - membership implies registration
                continue
            self.presence.leave(key, conn)
            left = MemberLeft(channel=channel.name, nick=nick, reason=reason)
            self.out.broadcast(self.presence.members(key), left)
            channel.invites.discard(conn)

    def list(self, conn: int, frame: ListFrame) -> None:
        """Channels visible to the asker (secret ones only to their members)."""
        rows = []
        for key, channel in sorted(self.registry.channels.items()):
            members = self.presence.members(key)
            if channel.secret and conn not in members:
                continue
            summary = ChannelSummary(name=channel.name, members=len(members), topic=channel.topic)
            rows.append(summary)
            if len(rows) >= MAX_LIST:
                break
        self.out.frame(conn, ChannelList(id=frame.id, channels=tuple(rows)))

    def names(self, conn: int, frame: Names) -> None:
        """Members and roles of a channel (a secret one only for its members)."""
        channel = self._channel(frame.channel)
        if channel.secret and conn not in self.presence.members(channel.key):
            raise Refusal(ErrorCode.NO_SUCH_CHANNEL, f"no channel {frame.channel}")
        reply = NamesReply(id=frame.id, channel=channel.name, members=self._roster(channel))
        self.out.frame(conn, reply)

    def visible_channels(self, asker: int, target: int) -> tuple[str, ...]:
        """Channels of *target* that *asker* may see in ``whois``."""
        names = []
        for key in self.presence.channels_of(target):
            channel = self.registry.get(key)
            if channel is None:  # pragma: no cover
                continue
            if channel.secret and asker not in self.presence.members(key):
                continue
            names.append(channel.name)
        return tuple(names)

    # -- talking ------------------------------------------------------------------------

    def chanmsg(self, conn: int, frame: ChanMsg) -> None:
        """Relay an opaque message to every other member, encoded once, sender stamped."""
        channel = self.registry.get(frame.channel.lower())
        if channel is None:
            raise Refusal(ErrorCode.NO_SUCH_CHANNEL, f"no channel {frame.channel}")
        members = self.presence.members(channel.key)
        role = members.get(conn)
        if role is None:
            raise Refusal(ErrorCode.NOT_IN_CHANNEL, f"you are not in {channel.name}")
        if not perm.can_speak(role, channel.moderated):
            raise Refusal(ErrorCode.MODERATED, f"{channel.name} is moderated")
        envelope = {
            "type": "chanmsg",
            "channel": channel.name,
            "kind": frame.kind,
            "sender": self._nick(conn),
            "ts": self.clock(),
        }
        data = encode_relay(envelope, frame.payload)
        # the cached member tuple goes out as is: the shell skips the sender
        self.out.send(self.presence.member_conns(channel.key), data, "chanmsg", exclude=conn)
        self.out.ok(conn, frame.id)

    def topic(self, conn: int, frame: Topic) -> None:
        """Set or clear the topic (op and up under topic lock, anyone in it otherwise)."""
        channel = self._channel(frame.channel)
        role = self._my_role(channel, conn)
        if not perm.can_set_topic(role, channel.topic_lock):
            raise _forbidden(f"the topic of {channel.name} is locked to ops")
        channel.topic = frame.topic or None
        self.registry.save(channel)
        changed = TopicChanged(channel=channel.name, topic=channel.topic, by=self._nick(conn))
        self.out.broadcast(self.presence.members(channel.key), changed, conn, frame.id)

    # -- moderation ---------------------------------------------------------------------

    def kick(self, conn: int, frame: Kick) -> None:
        """Remove a lower-ranked member; everyone there, the kicked one too, is told."""
        channel = self._channel(frame.channel)
        role = self._my_role(channel, conn)
        target, target_role = self._member(channel, frame.nick)
        if target == conn:
            raise _forbidden("you cannot kick yourself")
        if not perm.can_kick(role, target_role):
            raise _forbidden(f"a {role} cannot kick a {target_role}")
        kicked = Kicked(
            channel=channel.name, nick=self._nick(target), by=self._nick(conn), reason=frame.reason
        )
        self.out.broadcast(self.presence.members(channel.key), kicked, conn, frame.id)
        self.presence.leave(channel.key, target)

    def ban(self, conn: int, frame: Ban) -> None:
        """Ban a user by stable identity and nick (kicking them if present)."""
        channel = self._channel(frame.channel)
        role = self._my_role(channel, conn)
        if not perm.can_unban(role):
            raise _forbidden(f"a {role} cannot ban")
        now = self.clock()
        target = self.presence.lookup(frame.nick)
        nick = frame.nick
        identities: tuple[str, ...] = (f"nick:{frame.nick.lower()}",)
        if target is not None:
            if target == conn:
                raise _forbidden("you cannot ban yourself")
            client = self.clients[target]
            assert client.nick is not None
            nick, identities = client.nick, client.identities()
        target_role = None if target is None else self.presence.members(channel.key).get(target)
        if target_role is None:
            target_role = channel.role_of(identities)
        if not perm.can_ban(role, target_role):
            raise _forbidden(f"a {role} cannot ban a {target_role}")
        until = None if frame.duration is None else now + frame.duration
        primary = identities[0] if not identities[0].startswith("nick:") else None
        record = BanRecord(nick, primary, self._nick(conn), frame.reason, until, now)
        self.registry.add_ban(channel, record)
        for identity in identities:
            if identity in channel.roles:
                self.registry.set_role(channel, identity, "member")
        banned = BannedFrame(
            channel=channel.name, nick=nick, by=self._nick(conn), reason=frame.reason, until=until
        )
        self.out.broadcast(self.presence.members(channel.key), banned, conn, frame.id)
        if target is not None:
            self.presence.leave(channel.key, target)
            self.clients[target].uninvite(channel.key)

    def unban(self, conn: int, frame: Unban) -> None:
        """Lift the bans set on a nick."""
        channel = self._channel(frame.channel)
        role = self._my_role(channel, conn)
        if not perm.can_unban(role):
            raise _forbidden(f"a {role} cannot unban")
        if not self.registry.remove_bans(channel, frame.nick.lower()):
            raise Refusal(ErrorCode.NO_SUCH_NICK, f"{frame.nick} is not banned in {channel.name}")
        lifted = Unbanned(channel=channel.name, nick=frame.nick, by=self._nick(conn))
        self.out.broadcast(self.presence.members(channel.key), lifted, conn, frame.id)

    def bans(self, conn: int, frame: Bans) -> None:
        """The live bans of a channel (op and up)."""
        channel = self._channel(frame.channel)
        role = self._my_role(channel, conn)
        if not perm.can_list_bans(role):
            raise _forbidden(f"a {role} cannot see the ban list")
        self.registry.purge_expired(channel, self.clock())
        entries = tuple(
            BanEntry(nick=b.nick, by=b.by, reason=b.reason, until=b.until) for b in channel.bans
        )
        self.out.frame(conn, BanList(id=frame.id, channel=channel.name, bans=entries))

    def invite(self, conn: int, frame: Invite) -> None:
        """Let an online user past invite-only for their next join."""
        channel = self._channel(frame.channel)
        role = self._my_role(channel, conn)
        if not perm.can_invite(role):
            raise _forbidden(f"a {role} cannot invite")
        target = self.presence.lookup(frame.nick)
        if target is None:
            raise Refusal(ErrorCode.NO_SUCH_NICK, f"{frame.nick} is not online")
        if target in self.presence.members(channel.key):
            raise Refusal(ErrorCode.ALREADY_IN_CHANNEL, f"{frame.nick} is already there")
        self.clients[target].invite(channel.key)
        self.out.frame(target, Invited(channel=channel.name, by=self._nick(conn)))
        self.out.ok(conn, frame.id)

    def mode(self, conn: int, frame: Mode) -> None:
        """Change modes and the password (op and up); members see the full new modes."""
        channel = self._channel(frame.channel)
        role = self._my_role(channel, conn)
        if not perm.can_set_mode(role):
            raise _forbidden(f"a {role} cannot change modes")
        if frame.invite_only is not None:
            channel.invite_only = frame.invite_only
        if frame.moderated is not None:
            channel.moderated = frame.moderated
        if frame.secret is not None:
            channel.secret = frame.secret
        if frame.topic_lock is not None:
            channel.topic_lock = frame.topic_lock
        if frame.limit is not None:
            channel.limit = frame.limit
        if frame.password is not None:
            channel.password_hash = hash_password(frame.password) if frame.password else None
        self.registry.save(channel)
        changed = ModeChanged(channel=channel.name, modes=channel.modes(), by=self._nick(conn))
        self.out.broadcast(self.presence.members(channel.key), changed, conn, frame.id)

    def role(self, conn: int, frame: Role) -> None:
        """Grant or revoke op/mod on a member present in the channel."""
        channel = self._channel(frame.channel)
        role = self._my_role(channel, conn)
        target, target_role = self._member(channel, frame.nick)
        if target == conn:
            raise _forbidden("you cannot change your own role")
        if not perm.can_set_role(role, target_role, frame.role):
            raise _forbidden(f"a {role} cannot make a {target_role} {frame.role}")
        self._assign(channel, target, frame.role)
        changed = RoleChanged(
            channel=channel.name, nick=self._nick(target), role=frame.role, by=self._nick(conn)
        )
        self.out.broadcast(self.presence.members(channel.key), changed, conn, frame.id)

    def transfer(self, conn: int, frame: Transfer) -> None:
        """Hand ownership to another member; the old owner becomes op."""
        channel = self._channel(frame.channel)
        role = self._my_role(channel, conn)
        if not perm.can_transfer(role):
            raise _forbidden("only the owner can transfer ownership")
        target, _ = self._member(channel, frame.nick)
        if target == conn:
            raise _forbidden("you already own this channel")
        channel.owner = self.clients[target].primary_identity()
        self._assign(channel, target, "owner")
        self._assign(channel, conn, "op")
        self.registry.save(channel)
        by = self._nick(conn)
        members = self.presence.members(channel.key)
        owner = RoleChanged(channel=channel.name, nick=self._nick(target), role="owner", by=by)
        self.out.broadcast(members, owner, conn, frame.id)
        self.out.broadcast(members, RoleChanged(channel=channel.name, nick=by, role="op", by=by))

    def _assign(self, channel: Channel, conn: int, role: str) -> None:
        client = self.clients[conn]
        primary = client.primary_identity()
        for identity in client.identities():
            if identity != primary and identity in channel.roles:
                self.registry.set_role(channel, identity, "member")
        self.registry.set_role(channel, primary, "member" if role == "owner" else role)
        self.presence.set_role(channel.key, conn, role)
