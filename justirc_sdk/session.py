"""The :class:`Session`: one user's live, end-to-end encrypted connection to a server.

A session connects, registers its nick, publishes its public key bundle and then
runs in the background (reading frames, answering keepalives, reconnecting after a
lost connection) until it is closed. It works the same on asyncio and trio, in a
script (``async with``), across notebook cells (``s = await Session.connect(...)``)
and behind the blocking facade in :mod:`justirc_sdk.sync`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import anyio

from . import events as ev
from . import protocol as p
from ._connection import _Connection, _Pending
from ._e2e import E2E
from ._messaging import Messaging
from ._state import ClientState
from ._subscribers import EventHub, EventStream, EventWaiter, Handler
from ._transport import Transport
from .background import DetachedTask
from .channel import Channel
from .errors import (
    JustIRCError,
    NotConnected,
)
from .files import DEFAULT_MAX_FILE_BYTES, FileInput
from .images import ImageInput, ProgressCallback

__all__ = ["EventWaiter", "Session"]

_log = logging.getLogger(__name__)
E = TypeVar("E", bound=ev.Event)


class Session(_Connection):
    """A connected user. Create one with :meth:`connect`; close it with :meth:`close`.

    Messages are encrypted end to end automatically: key bundles are fetched and
    checked, pairwise sessions and channel sender keys are set up and rotated on
    membership changes without any call from you.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        nick: str,
        password: str | None = None,
        tls: bool | ssl.SSLContext | None = None,
        tls_fingerprint: str | None = None,
        keystore: str | Path | None = None,
        passphrase: str | None = None,
        reconnect: bool = True,
        request_timeout: float = 15.0,
        keepalive: float = 30.0,
        event_buffer: int = 10_000,
        max_image_bytes: int = 10 * 1024 * 1024,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self._nick = nick
        self._password = password
        self._tls = tls
        self._tls_fingerprint = tls_fingerprint
        self.reconnect = reconnect
        self.request_timeout = request_timeout
        self.keepalive = keepalive
        self.event_buffer = event_buffer
        self.state = ClientState(nick)
        self.crypto = E2E.open(nick, keystore=keystore, passphrase=passphrase)
        self._messaging = Messaging(
            self, max_image_bytes=max_image_bytes, max_file_bytes=max_file_bytes
        )
        self._transport: Transport | None = None
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._hub = EventHub(event_buffer, f"justirc-handlers-{nick}")
        self._runner: DetachedTask | None = None
        self._closing = False
        self._closed = anyio.Event()
        self._connected = anyio.Event()
        self._inbound_send, self._inbound_recv = anyio.create_memory_object_stream[p.Frame](10_000)
        self.server_name: str | None = None
        self.max_frame = p.DEFAULT_MAX_FRAME
        self.token: str | None = None
        self._account: str | None = None

    # -- lifecycle --------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        nick: str,
        password: str | None = None,
        tls: bool | ssl.SSLContext | None = None,
        tls_fingerprint: str | None = None,
        keystore: str | Path | None = None,
        passphrase: str | None = None,
        **options: Any,
    ) -> Session:
        """Connect, register *nick* (logging in when *password* is given) and start.

        ``tls``: ``None``/``False`` plain TCP, ``True`` TLS verified against the system
        CAs, or your own :class:`ssl.SSLContext`. ``tls_fingerprint`` pins a
        self-signed server certificate by its SHA-256 (implies TLS). ``keystore`` is
        the file that keeps your identity and sessions across runs (``None`` keeps
        them in memory only); ``passphrase`` encrypts it at rest.

        Raises :class:`~justirc_sdk.errors.ConnectError` when the server cannot be
        reached, and the server's refusal (e.g. :class:`NickInUse`) as a typed error.
        """
        session = cls(
            host,
            port,
            nick=nick,
            password=password,
            tls=tls,
            tls_fingerprint=tls_fingerprint,
            keystore=keystore,
            passphrase=passphrase,
            **options,
        )
        session._transport = await session._establish()
        session._connected.set()
        session._runner = DetachedTask(session._run, f"justirc-session-{nick}")
        session._runner.start()
        return session

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self, reason: str = "bye") -> None:
        """Leave the server and stop every background task (idempotent)."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        transport = self._transport
        if transport is not None:
            with anyio.move_on_after(2, shield=True), contextlib.suppress(JustIRCError):
                await transport.send(p.Quit(reason=reason))
            await transport.aclose()
        if self._runner is not None:
            self._runner.cancel()
            with anyio.CancelScope(shield=True):
                await self._runner.wait()
        self._fail_pending(NotConnected("the session was closed"))
        self.crypto.close()
        self._hub.close()
        self._closed.set()

    @property
    def connected(self) -> bool:
        """True while a connection is up (False while reconnecting or after close)."""
        return self._connected.is_set() and not self._closing

    @property
    def nick(self) -> str:
        """Your current nickname."""
        return self.state.nick

    @property
    def users(self) -> list[str]:
        """Nicks of the users online, as the server last reported them."""
        return sorted(self.state.users.values(), key=str.lower)

    @property
    def channels(self) -> dict[str, Channel]:
        """The channels you are in, by name."""
        return {state.name: Channel(self, state.name) for state in self.state.channels.values()}

    # -- events -----------------------------------------------------------------------

    def events(self) -> EventStream:
        """Every event from now on, through this iterator's own bounded buffer.

        Each iterator sees every event; a slow one never holds up the session or other
        iterators. If its buffer (``event_buffer``, default 10,000) fills, later events
        for it are dropped and it yields one :class:`~justirc_sdk.events.EventsDropped`
        with their number. The iteration ends when the session closes.
        """
        return self._hub.stream()

    def wait_for(
        self,
        event_type: type[E],
        check: Callable[[E], bool] | None = None,
        timeout: float | None = None,
    ) -> EventWaiter[E]:
        """Wait for the next event of *event_type* for which *check* is true.

        ``await session.wait_for(...)`` returns the event. Events count from the moment
        of the call, not of the ``await``, so a waiter created before sending a message
        cannot miss the answer::

            reply = session.wait_for(events.Message, check=lambda e: e.sender == "bob")
            await session.send("bob", "ping?")
            print((await reply).text)

        Raises :class:`RequestTimeout` (a :class:`TimeoutError`) after *timeout* seconds.
        """
        return self._hub.waiter(event_type, check, timeout)

    def on(self, event_type: type[E]) -> Callable[[Handler], Handler]:
        """Decorator: call the function for every event of *event_type*.

        Handlers run one at a time, in event order, on a task of the session. One that
        raises is logged with its traceback and reported as a
        :class:`~justirc_sdk.events.HandlerFailed` event; it stays registered.
        """
        return self._hub.on(event_type)

    # -- private conversations --------------------------------------------------------

    async def send(self, nick: str, text: str, *, action: bool = False) -> None:
        """Send an end-to-end encrypted private message to *nick*."""
        await self._messaging.send_private_text(nick, text, action=action)

    async def send_image(
        self,
        nick: str,
        image: ImageInput,
        caption: str | None = None,
        progress: ProgressCallback | None = None,
        *,
        filename: str | None = None,
        strip_metadata: bool = True,
    ) -> None:
        """Send an image (a path, bytes or a PIL image) to *nick*, encrypted."""
        await self._messaging.send_image(
            nick, None, image, caption, progress, filename, strip_metadata
        )

    async def send_file(
        self,
        nick: str,
        file: FileInput,
        caption: str | None = None,
        progress: ProgressCallback | None = None,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
    ) -> None:
        """Send any file (a path or its bytes) to *nick*, encrypted.

        The receiver gets a :class:`~justirc_sdk.events.FileMessage`. Raises
        :class:`~justirc_sdk.errors.FileTooLarge` above ``max_file_bytes`` (25 MiB by
        default) and :class:`~justirc_sdk.errors.FileError` for an unreadable path.
        """
        await self._messaging.send_file(nick, None, file, caption, progress, filename, mime_type)

    async def rotate_keys(self, target: str) -> None:
        """Rotate keys now with a user (nick) or for a channel (``#name``)."""
        await self._messaging.rotate(target)

    # -- trust ------------------------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        """Your own identity fingerprint, in digit groups."""
        return self.crypto.fingerprint

    async def fetch_keys(self, nick: str) -> str:
        """Fetch, check and pin *nick*'s key bundle now; returns their fingerprint.

        Useful to compare safety numbers before the first message. A different key
        than the pinned one is reported as a :class:`~justirc_sdk.events.KeyChanged`.
        """
        await self._messaging.ensure_peer(nick, refresh=True)
        fingerprint = self.crypto.peer_fingerprint(nick)
        assert fingerprint is not None
        return fingerprint

    def fingerprint_of(self, nick: str) -> str | None:
        """The pinned fingerprint of *nick*, or ``None`` if you never saw their key."""
        return self.crypto.peer_fingerprint(nick)

    def safety_number(self, nick: str) -> str:
        """The safety number you share with *nick*; both of you see the same digits."""
        return self.crypto.safety_number(nick)

    def verify(self, nick: str, safety_number: str) -> None:
        """Mark *nick* verified after comparing safety numbers; raises if they differ."""
        self.crypto.verify(nick, safety_number)

    def accept_key_change(self, nick: str) -> None:
        """Accept *nick*'s new identity key (they stay unverified until re-verified)."""
        self.crypto.accept_key_change(nick)
        for frame in self._messaging.release_held(nick):
            self._inbound_send.send_nowait(frame)

    def reject_key_change(self, nick: str) -> None:
        """Refuse *nick*'s new key (you believe it is forged): the pinned key stays,
        and the messages held back under the new key are discarded unread."""
        self.crypto.reject_key_change(nick)
        self._messaging.release_held(nick)

    def trust_state(self, nick: str) -> str | None:
        """``"unverified"``, ``"verified"``, ``"changed"``, or ``None`` if unknown."""
        return self.crypto.trust_state(nick)

    # -- channels and server ----------------------------------------------------------

    async def join(self, channel: str, password: str | None = None) -> Channel:
        """Join (or create) *channel* and return it; a password protects a new channel."""
        reply = await self._request(p.Join(channel=channel, password=password))
        assert isinstance(reply, p.Joined)
        state = self.state.channel(reply.channel)
        assert state is not None
        state.password = password
        return Channel(self, reply.channel)

    def channel(self, name: str) -> Channel:
        """The :class:`Channel` object for a channel you are in."""
        state = self.state.channel(name)
        if state is None:
            raise NotConnected(f"you are not in {name}")
        return Channel(self, state.name)

    async def list_channels(self) -> list[p.ChannelSummary]:
        """The channels on the server (secret ones only if you are in them)."""
        reply = await self._request(p.List())
        assert isinstance(reply, p.ChannelList)
        return list(reply.channels)

    async def whois(self, nick: str) -> p.WhoisReply:
        """What the server tells about *nick*."""
        reply = await self._request(p.Whois(nick=nick))
        assert isinstance(reply, p.WhoisReply)
        return reply

    async def change_nick(self, nick: str) -> None:
        """Change your nickname.

        Your identity key stays the same, but keys are bound to nicks: contacts see
        your new nick as a new contact (same fingerprint) and channel keys rotate.
        """
        await self._request(p.Nick(nick=nick))

    # -- accounts ---------------------------------------------------------------------

    @property
    def account(self) -> str | None:
        """The account you are logged in to, or ``None`` as a guest."""
        return self._account

    async def create_account(self, password: str) -> None:
        """Create an account named after your nick, and log in to it.

        The account protects your nick and carries channel ownership and roles.
        """
        reply = await self._request(p.CreateAccount(password=password))
        self._logged_in(reply)

    async def login(self, password: str, account: str | None = None) -> None:
        """Log in to an account (by default the one named after your nick)."""
        reply = await self._request(p.Login(account=account or self.nick, password=password))
        self._logged_in(reply)

    def _logged_in(self, reply: p.Frame) -> None:
        if isinstance(reply, p.LoggedIn):
            self.token = reply.token
            self._account = reply.account
            self.state.account = reply.account

    async def logout(self) -> None:
        """Log out; the session token is revoked and reconnects stay guests."""
        await self._request(p.Logout())
        self.token = None
        self._account = None
        self._password = None
        self.state.account = None

    async def change_password(self, old: str, new: str) -> None:
        """Change your account password (every other session token is revoked)."""
        reply = await self._request(p.Passwd(old=old, new=new))
        self._password = None
        self._logged_in(reply)

    async def delete_account(self, password: str) -> None:
        """Delete your account; your nick is no longer protected."""
        await self._request(p.DeleteAccount(password=password))
        self.token = None
        self._account = None
        self._password = None

    async def ping(self) -> float:
        """Round-trip time to the server in seconds."""
        start = anyio.current_time()
        await self._request(p.Ping(token="rtt"))
        return anyio.current_time() - start
