"""The sans-IO routing core: frames in, deliveries and close actions out.

Feed it connection lifecycle calls (:meth:`Router.connected`,
:meth:`Router.disconnected`), decoded frames (:meth:`Router.handle`) and decoding
failures (:meth:`Router.protocol_error`); each returns an :class:`~server.routing.Output`
for the I/O shell. The router never opens a payload or key bundle, stamps ``sender`` and
``ts`` on every relayed message itself, and takes its clock as a parameter so timed
rules are testable without sleeping.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from justirc_sdk.protocol import (
    PROTOCOL_VERSION,
    ErrorCode,
    FetchKeys,
    Frame,
    Hello,
    Keys,
    Nick,
    NickChanged,
    Ping,
    Pong,
    PrivMsg,
    ProtocolError,
    PublishKeys,
    Quit,
    Register,
    Registered,
    RoleChanged,
    UserOffline,
    UserOnline,
    Welcome,
    Whois,
    WhoisReply,
    is_reserved_nick,
)
from justirc_sdk.protocol.limits import MAX_LIST

from .channel_commands import ChannelCommands
from .channels import Channel, ChannelRegistry
from .config import ServerConfig
from .metrics import MetricsSink, NullMetrics
from .presence import LocalPresence, Presence
from .protection import rate_limit_config
from .ratelimit import ConnectionLimits
from .relay import encode_relay
from .routing import Client, Outbox, Output, Refusal

__all__ = ["Handler", "Router"]

_log = logging.getLogger(__name__)

Handler = Callable[[int, Any], None]
"""A command handler: ``(connection id, frame)``; raises :class:`Refusal` to refuse."""

_BEFORE_HELLO = frozenset({"hello", "ping", "pong", "quit"})
_BEFORE_REGISTER = _BEFORE_HELLO | {"register"}
_BEFORE_AUTH = _BEFORE_REGISTER | {"login", "create_account", "publish_keys"}
"""What a client may send before logging in when ``require_authentication`` is on.

``publish_keys`` is included because the SDK publishes keys right after registering;
it grants nothing (no messages, joins or key fetches) until the client logs in.
"""
NickGuard = Callable[[Client, str], None]
_NICK_BYTES = 23
"""Encoded size of the longest nick in a JSON list: 20 characters, quotes and a comma."""
_SERVER_ONLY = frozenset(
    {
        "welcome",
        "registered",
        "nick_changed",
        "bye",
        "ok",
        "error",
        "user_online",
        "user_offline",
        "keys",
        "whois_reply",
        "joined",
        "member_joined",
        "member_left",
        "channel_list",
        "names_reply",
        "topic_changed",
        "kicked",
        "banned",
        "unbanned",
        "ban_list",
        "invited",
        "mode_changed",
        "role_changed",
        "logged_in",
    }
)


class Router:
    """All routing state of one server: connections, nicks, channels, keys."""

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        registry: ChannelRegistry | None = None,
        presence: Presence | None = None,
        clock: Callable[[], float] = time.time,
        metrics: MetricsSink | None = None,
        on_abuse: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config or ServerConfig()
        self.metrics: MetricsSink = metrics or NullMetrics()
        self.on_abuse = on_abuse
        """Called with the peer address of a connection closed for rate-limit abuse."""
        self.nick_guard: NickGuard | None = None
        """Checks (and may make room for) a nick claim; accounts install one."""
        self._rate_config = rate_limit_config(self.config)
        self.registry = registry or ChannelRegistry()
        self.presence: Presence = presence or LocalPresence()
        self.clock = clock
        self.clients: dict[int, Client] = {}
        self.out = Outbox()
        self.channels = ChannelCommands(
            presence=self.presence,
            registry=self.registry,
            clients=self.clients,
            outbox=self.out,
            clock=clock,
            guest_expiry=self.config.channel_guest_expiry,
        )
        self._pre_register = set(_BEFORE_REGISTER)
        self._users_budget = min(MAX_LIST, max(0, self.config.max_frame - 512) // _NICK_BYTES)
        """Most nicks a ``registered`` frame may list and still fit in ``max_frame``."""
        c = self.channels
        self._handlers: dict[str, Handler] = {
            "hello": self._hello,
            "register": self._register,
            "nick": self._nick,
            "ping": self._ping,
            "pong": self._pong,
            "quit": self._quit,
            "publish_keys": self._publish_keys,
            "fetch_keys": self._fetch_keys,
            "whois": self._whois,
            "privmsg": self._privmsg,
            "chanmsg": c.chanmsg,
            "join": c.join,
            "part": c.part,
            "list": c.list,
            "names": c.names,
            "topic": c.topic,
            "kick": c.kick,
            "ban": c.ban,
            "unban": c.unban,
            "bans": c.bans,
            "invite": c.invite,
            "mode": c.mode,
            "role": c.role,
            "transfer": c.transfer,
        }

    # -- extension hook -----------------------------------------------------------------

    def add_handler(self, frame_type: str, handler: Handler, *, before_register: bool) -> None:
        """Install the handler of a frame type (accounts plug in here later)."""
        self._handlers[frame_type] = handler
        if before_register:
            self._pre_register.add(frame_type)

    # -- lifecycle ----------------------------------------------------------------------

    def connected(self, conn: int, addr: str = "") -> Output:
        """A new connection *conn* from peer address *addr* was accepted."""
        now = self.clock()
        self.clients[conn] = Client(
            conn=conn,
            connected_at=now,
            last_active=now,
            addr=addr,
            limits=ConnectionLimits(self._rate_config, now),
        )
        return self.out.take()

    def disconnected(self, conn: int, reason: str | None = None) -> Output:
        """*conn* is gone: leave its channels and tell others it went offline."""
        client = self.clients.pop(conn, None)
        if client is None:
            return self.out.take()
        if client.nick is not None:
            why = client.quit_reason or reason
            audience = self._presence_audience(conn)  # before it leaves its channels
            self.channels.disconnect(conn, why)
            self.presence.release(conn)
            audience.discard(conn)
            self.out.broadcast(audience, UserOffline(nick=client.nick, reason=why))
        for key in client.invited_to or ():
            channel = self.registry.get(key)
            if channel is not None:
                channel.invites.discard(conn)
        return self.out.take()

    def shutdown(self, reason: str = "server shutting down") -> Output:
        """Say ``bye`` (``shutting_down``) to every connection."""
        for conn, client in self.clients.items():
            if not client.closing:
                client.closing = True
                self.out.close(conn, reason, ErrorCode.SHUTTING_DOWN)
        return self.out.take()

    def refresh_roles(self, channel: Channel) -> None:
        """Bring live members' roles in line with *channel*'s stored ones, telling everyone.

        Used after a change made outside the channel commands (an administrator's
        ``set-owner``, a deleted account's roles).
        """
        key = channel.key
        members = self.presence.members(key)
        for conn in list(members):
            client = self.clients.get(conn)
            nick = self.presence.nick_of(conn)
            if client is None or nick is None:
                continue
            role = channel.role_of(client.identities())
            if role != members.get(conn):
                self.presence.set_role(key, conn, role)
                changed = RoleChanged(channel=channel.name, nick=nick, role=role, by="server")
                self.out.broadcast(list(members), changed)

    def close(self, conn: int, reason: str, code: ErrorCode) -> Output:
        """Close *conn* for a reason found by the shell (timeout, slow consumer)."""
        client = self.clients.get(conn)
        if client is not None and not client.closing:
            client.closing = True
            client.quit_reason = client.quit_reason or reason
            self.out.close(conn, reason, code)
        return self.out.take()

    # -- input --------------------------------------------------------------------------

    def handle(self, conn: int, frame: Frame) -> Output:
        """Apply one decoded frame from *conn*."""
        client = self.clients.get(conn)
        if client is None or client.closing:
            return self.out.take()
        kind = frame.type
        if client.limits is not None and not self._within_limits(client, frame):
            return self.out.take()
        if not client.hello and kind not in _BEFORE_HELLO:
            self._count_error(client)
            self.out.error(conn, ErrorCode.NOT_REGISTERED, "say hello first", frame.id, kind)
            return self.out.take()
        if client.nick is None and kind not in self._pre_register:
            self._count_error(client)
            message = "register a nick first"
            self.out.error(conn, ErrorCode.NOT_REGISTERED, message, frame.id, kind)
            return self.out.take()
        if (
            self.config.require_authentication
            and client.account is None
            and kind not in _BEFORE_AUTH
        ):
            message = "this server requires an account: log in (or create_account) first"
            self.out.error(conn, ErrorCode.AUTH_REQUIRED, message, frame.id, kind)
            return self.out.take()
        handler = self._handlers.get(kind)
        try:
            if handler is None:
                self._unhandled(client, frame)
            else:
                handler(conn, frame)
        except Refusal as refusal:
            _log.debug("conn %d: %s refused: %s", conn, kind, refusal.code.value)
            self.out.error(conn, refusal.code, refusal.message, frame.id, kind, refusal.retry_after)
        return self.out.take()

    def _within_limits(self, client: Client, frame: Frame) -> bool:
        """Charge *frame* to its rate-limit bucket; answer ``rate_limited`` if refused."""
        assert client.limits is not None
        kind = getattr(frame, "kind", None)
        size = len(getattr(frame, "payload", "")) if kind == "file" else 0
        refusal = client.limits.check_frame(frame.type, self.clock(), kind=kind, size=size)
        if refusal is None:
            return True
        self.metrics.rate_limited(refusal.category)
        wait = refusal.retry_after
        message = f"too many {refusal.category.replace('_', ' ')}; retry in {wait:.1f} s"
        self.out.error(client.conn, ErrorCode.RATE_LIMITED, message, frame.id, frame.type, wait)
        if refusal.abusive:
            _log.info("conn %d: disconnected for ignoring rate limits", client.conn)
            client.closing = True
            client.quit_reason = "rate limit abuse"
            self.out.close(client.conn, "too many refused requests", ErrorCode.RATE_LIMITED)
            if self.on_abuse is not None:
                self.on_abuse(client.addr)
        return False

    def protocol_error(self, conn: int, exc: ProtocolError) -> Output:
        """A line from *conn* could not be decoded: answer it and count it."""
        client = self.clients.get(conn)
        if client is None or client.closing:
            return self.out.take()
        _log.debug("conn %d: bad frame: %s", conn, exc.code.value)
        self.out.error(conn, exc.code, exc.message, exc.request_id, exc.frame_type)
        self._count_error(client)
        return self.out.take()

    def _count_error(self, client: Client) -> None:
        now = self.clock()
        errors = client.errors
        if errors is None:
            errors = client.errors = deque()
        errors.append(now)
        while errors and errors[0] <= now - self.config.error_window:
            errors.popleft()
        if len(errors) > self.config.max_errors:
            _log.info("conn %d: disconnected after %d protocol errors", client.conn, len(errors))
            client.closing = True
            client.quit_reason = "too many protocol errors"
            self.out.close(client.conn, "too many protocol errors", ErrorCode.RATE_LIMITED)

    def _unhandled(self, client: Client, frame: Frame) -> None:
        if frame.type in _SERVER_ONLY:
            self._count_error(client)
            raise Refusal(ErrorCode.UNKNOWN_TYPE, f"{frame.type!r} is sent by servers, not clients")
        raise Refusal(ErrorCode.FORBIDDEN, f"{frame.type!r} is not enabled on this server")

    # -- connection and users -----------------------------------------------------------

    def _hello(self, conn: int, frame: Hello) -> None:
        client = self.clients[conn]
        if client.hello:
            raise Refusal(ErrorCode.BAD_FRAME, "hello was already received")
        if frame.version != PROTOCOL_VERSION:
            self.out.error(
                conn,
                ErrorCode.UNSUPPORTED_VERSION,
                f"this server speaks protocol version {PROTOCOL_VERSION}, not {frame.version}",
                frame.id,
                "hello",
            )
            client.closing = True
            self.out.close(conn, "unsupported protocol version", ErrorCode.UNSUPPORTED_VERSION)
            return
        client.hello = True
        self.out.frame(
            conn,
            Welcome(
                id=frame.id,
                version=PROTOCOL_VERSION,
                server=self.config.server_name,
                max_frame=self.config.max_frame,
                motd=self.config.motd,
                auth_required=self.config.require_authentication,
            ),
        )

    def _check_nick(self, client: Client, nick: str) -> None:
        if is_reserved_nick(nick):
            raise Refusal(ErrorCode.NICK_RESERVED, f"{nick!r} is reserved")
        if self.nick_guard is not None:
            self.nick_guard(client, nick)

    def guest_nick(self) -> str:
        """A free ``Guest<digits>`` nick."""
        while True:
            nick = f"Guest{secrets.randbelow(10**6):06d}"
            if self.presence.lookup(nick) is None:
                return nick

    def rename(self, conn: int, new: str) -> None:
        """Force *conn* onto nick *new* (free), telling everyone with ``nick_changed``."""
        client = self.clients[conn]
        old = client.nick
        if old is None or not self.presence.claim_nick(conn, new):
            return
        client.nick = new
        audience = self._presence_audience(conn)
        audience.add(conn)
        self.out.broadcast(audience, NickChanged(old=old, new=new))

    def _register(self, conn: int, frame: Register) -> None:
        client = self.clients[conn]
        if client.nick is not None:
            raise Refusal(ErrorCode.ALREADY_REGISTERED, f"you are already {client.nick}")
        self._check_nick(client, frame.nick)
        if not self.presence.claim_nick(conn, frame.nick):
            raise Refusal(ErrorCode.NICK_IN_USE, f"{frame.nick} is taken")
        client.nick = frame.nick
        client.last_active = self.clock()
        total = self.presence.count()
        users: tuple[str, ...] = ()
        if self._global_presence():
            users = tuple(self.presence.online()[: self._users_budget])
        complete = len(users) == total
        registered = Registered(
            id=frame.id,
            nick=frame.nick,
            users=users,
            account=client.account,
            users_total=None if complete else total,
        )
        self.out.frame(conn, registered)
        audience = self._presence_audience(conn)
        audience.discard(conn)
        self.out.broadcast(audience, UserOnline(nick=frame.nick))

    def _nick(self, conn: int, frame: Nick) -> None:
        client = self.clients[conn]
        old = client.nick
        assert old is not None
        if frame.nick == old:
            self.out.ok(conn, frame.id)
            return
        self._check_nick(client, frame.nick)
        if not self.presence.claim_nick(conn, frame.nick):
            raise Refusal(ErrorCode.NICK_IN_USE, f"{frame.nick} is taken")
        client.nick = frame.nick
        changed = NickChanged(old=old, new=frame.nick)
        audience = self._presence_audience(conn)
        audience.add(conn)
        self.out.broadcast(audience, changed, conn, frame.id)

    def _global_presence(self) -> bool:
        """True while few enough users are online for everyone to see everyone."""
        return self.presence.count() <= self.config.presence_global_max

    def _presence_audience(self, conn: int) -> set[int]:
        """Who hears that *conn* came, went or changed nick (a fresh set to adjust).

        Everyone registered while the server is at or below ``presence_global_max``
        online users; above it, only those sharing a channel with *conn*, so that a
        registration or a disconnect costs what the user's channels cost, not O(users).
        """
        if self._global_presence():
            return set(self.presence.registered())
        return self.presence.peers(conn)

    def _ping(self, conn: int, frame: Ping) -> None:
        self.out.frame(conn, Pong(id=frame.id, token=frame.token))

    def _pong(self, conn: int, frame: Pong) -> None:
        """Liveness is tracked by the shell on any received byte; nothing to do."""

    def _quit(self, conn: int, frame: Quit) -> None:
        client = self.clients[conn]
        client.quit_reason = frame.reason or "quit"
        client.closing = True
        self.out.close(conn, "goodbye")

    # -- keys ---------------------------------------------------------------------------

    def _publish_keys(self, conn: int, frame: PublishKeys) -> None:
        client = self.clients[conn]
        client.bundle = frame.bundle
        client.key_id = hashlib.sha256(frame.bundle.encode("utf-8")).hexdigest()
        self.out.ok(conn, frame.id)

    def _target(self, nick: str) -> Client:
        target = self.presence.lookup(nick)
        if target is None:
            raise Refusal(ErrorCode.NO_SUCH_NICK, f"{nick} is not online")
        return self.clients[target]

    def _fetch_keys(self, conn: int, frame: FetchKeys) -> None:
        target = self._target(frame.nick)
        assert target.nick is not None
        if target.bundle is None:
            raise Refusal(ErrorCode.NO_KEYS, f"{target.nick} has not published keys")
        self.out.frame(conn, Keys(id=frame.id, nick=target.nick, bundle=target.bundle))

    def _whois(self, conn: int, frame: Whois) -> None:
        target = self._target(frame.nick)
        assert target.nick is not None
        reply = WhoisReply(
            id=frame.id,
            nick=target.nick,
            online=True,
            account=target.account,
            channels=self.channels.visible_channels(conn, target.conn),
            idle=max(0.0, self.clock() - target.last_active),
        )
        self.out.frame(conn, reply)

    # -- private messages ---------------------------------------------------------------

    def _privmsg(self, conn: int, frame: PrivMsg) -> None:
        target = self.presence.lookup(frame.to)
        if target is None:
            raise Refusal(ErrorCode.NO_SUCH_NICK, f"{frame.to} is not online")
        client = self.clients[conn]
        now = self.clock()
        client.last_active = now
        envelope = {
            "type": "privmsg",
            "to": self.clients[target].nick,
            "kind": frame.kind,
            "sender": client.nick,
            "ts": now,
        }
        self.out.send((target,), encode_relay(envelope, frame.payload), "privmsg")
        self.out.ok(conn, frame.id)
