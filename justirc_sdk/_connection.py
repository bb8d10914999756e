"""The connection machinery behind :class:`~justirc_sdk.Session` (the I/O shell).

Opening a connection (hello, login, register, publish keys), reading frames, matching
replies to requests, keepalive, and reconnecting with backoff live here, so that
``session.py`` is only the public API. Frames that are not pure replies go, in order,
to one processor task that updates state, decrypts and emits events.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
import random
import ssl
from typing import TYPE_CHECKING

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from . import events as ev
from . import protocol as p
from ._state import ClientState
from ._subscribers import EventHub
from ._transport import Transport
from .errors import (
    ConnectError,
    ConnectionLost,
    JustIRCError,
    NotConnected,
    RateLimited,
    RequestTimeout,
    error_for_code,
)

if TYPE_CHECKING:
    from ._e2e import E2E
    from ._messaging import Messaging

__all__: list[str] = []

_log = logging.getLogger("justirc_sdk.session")

_CLIENT_NAME = "justirc-sdk/0.1"

_PURE_REPLIES = (
    p.Ok,
    p.Error,
    p.Pong,
    p.Keys,
    p.WhoisReply,
    p.ChannelList,
    p.BanList,
    p.LoggedIn,
)


class _Pending:
    __slots__ = ("done", "error", "frame")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.frame: p.Frame | None = None
        self.error: JustIRCError | None = None


class _Connection:
    """State and tasks of the live connection; :class:`Session` is the public face."""

    host: str
    port: int
    reconnect: bool
    request_timeout: float
    keepalive: float
    state: ClientState
    crypto: E2E
    server_name: str | None
    max_frame: int
    token: str | None
    _nick: str
    _password: str | None
    _account: str | None
    _tls: bool | ssl.SSLContext | None
    _tls_fingerprint: str | None
    _messaging: Messaging
    _hub: EventHub
    _transport: Transport | None
    _ids: itertools.count[int]
    _pending: dict[str, _Pending]
    _closing: bool
    _closed: anyio.Event
    _connected: anyio.Event
    _inbound_send: MemoryObjectSendStream[p.Frame]
    _inbound_recv: MemoryObjectReceiveStream[p.Frame]
    _reconnected_after: int = 0
    _last_seen: float = 0.0

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._closing

    def _emit(self, event: ev.Event) -> None:
        self._hub.emit(event)

    # -- connection -------------------------------------------------------------------

    async def _establish(self) -> Transport:
        """Open a connection and complete hello, login and registration."""
        transport = await Transport.open(
            self.host,
            self.port,
            tls=self._tls,
            tls_fingerprint=self._tls_fingerprint,
        )
        try:
            await transport.send(p.Hello(version=p.PROTOCOL_VERSION, client=_CLIENT_NAME))
            welcome = await self._handshake_reply(transport, p.Welcome)
            assert isinstance(welcome, p.Welcome)
            self.server_name = welcome.server
            self.max_frame = welcome.max_frame
            transport.set_max_frame(max(welcome.max_frame, p.DEFAULT_MAX_FRAME) * 2)
            if self.token is not None or self._password is not None:
                # a reconnect prefers the session token: the password need not be kept
                await transport.send(
                    p.Login(
                        id="login",
                        account=self._account or self._nick,
                        password=None if self.token else self._password,
                        token=self.token,
                    )
                )
                logged = await self._handshake_reply(transport, p.LoggedIn)
                assert isinstance(logged, p.LoggedIn)
                self.token = logged.token
                self._account = logged.account
            await transport.send(p.Register(id="register", nick=self._nick))
            registered = await self._handshake_reply(transport, p.Registered)
            self.state.handle(registered)
            await transport.send(p.PublishKeys(id="keys", bundle=self.crypto.bundle()))
            await self._handshake_reply(transport, p.Ok)
        except BaseException:
            await transport.aclose()
            raise
        return transport

    async def _handshake_reply(self, transport: Transport, expected: type[p.Frame]) -> p.Frame:
        with anyio.fail_after(self.request_timeout):
            while True:
                try:
                    frame = await transport.receive()
                except p.ProtocolError as exc:
                    raise ConnectError(f"the server sent an invalid frame: {exc}") from exc
                if isinstance(frame, expected):
                    return frame
                if isinstance(frame, p.Error):
                    raise error_for_code(frame.code, frame.message, frame.retry_after)
                if isinstance(frame, p.Bye):
                    raise ConnectError(f"the server closed the connection: {frame.reason}")
                if isinstance(frame, p.Ping):
                    await transport.send(p.Pong(token=frame.token))
                else:
                    self._inbound_send.send_nowait(frame)

    async def _run(self) -> None:
        """The session's background life: process frames, run handlers, stay connected."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._process_loop)
            await self._connection_loop()
            tg.cancel_scope.cancel()

    async def _connection_loop(self) -> None:
        attempts = 0
        while not self._closing:
            transport = self._transport
            if transport is not None:
                reason = await self._serve(transport)
                self._connected = anyio.Event()
                self._transport = None
                await transport.aclose()
                self._fail_pending(ConnectionLost(f"connection lost: {reason}"))
                if self.closed:
                    return
                self._emit(ev.Disconnected(reason, will_reconnect=self.reconnect))
                if not self.reconnect:
                    self._closing = True
                    self.crypto.close()  # persist what this session received
                    self._hub.close()
                    self._closed.set()
                    return
                attempts = 0
            attempts += 1
            delay = min(30.0, 0.25 * 2 ** min(attempts, 8)) * random.uniform(0.5, 1.0)
            await anyio.sleep(delay)
            try:
                self.state.reset_connection()
                self._transport = await self._establish()
            except RateLimited as exc:  # also server_full: wait as long as the server asks
                _log.info("reconnect attempt %d refused: %s", attempts, exc)
                await anyio.sleep(exc.retry_after)
                continue
            except (JustIRCError, TimeoutError, OSError) as exc:
                _log.info("reconnect attempt %d failed: %s", attempts, exc)
                continue
            self._connected.set()
            self._reconnected_after = attempts

    async def _serve(self, transport: Transport) -> str:
        """Read frames until the connection ends; returns why it ended."""
        reason = "connection closed"
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._keepalive_loop, transport)
            if getattr(self, "_reconnected_after", 0):
                tg.start_soon(self._after_reconnect, self._reconnected_after)
                self._reconnected_after = 0
            try:
                while True:
                    try:
                        frame = await transport.receive()
                    except p.ProtocolError as exc:
                        _log.warning("ignoring an invalid frame from the server: %s", exc)
                        continue
                    self._last_seen = anyio.current_time()
                    if isinstance(frame, p.Ping) and frame.id is None:
                        await transport.send(p.Pong(token=frame.token))
                    elif not self._route_reply(frame):
                        await self._inbound_send.send(frame)
            except ConnectionLost as exc:
                reason = str(exc)
            finally:
                tg.cancel_scope.cancel()
        return reason

    async def _keepalive_loop(self, transport: Transport) -> None:
        """Ping when the line is quiet; drop a connection that stays silent."""
        self._last_seen = anyio.current_time()
        while True:
            await anyio.sleep(self.keepalive)
            quiet = anyio.current_time() - self._last_seen
            if quiet >= self.keepalive * 2:
                await transport.aclose()
                return
            if quiet >= self.keepalive:
                try:
                    await transport.send(p.Ping(token="keepalive"))
                except ConnectionLost:
                    return

    async def _renamed(self, nick: str) -> None:
        """Our nick changed (on request, or the server renamed us): re-bind our keys."""
        self._nick = nick
        bundle = self.crypto.renamed(nick)
        with contextlib.suppress(NotConnected):  # a reconnect publishes the new bundle anyway
            await self.send_frame(p.PublishKeys(bundle=bundle))

    async def _after_reconnect(self, attempts: int) -> None:
        for state in list(self.state.channels.values()):
            try:
                await self._request(p.Join(channel=state.name, password=state.password))
            except JustIRCError as exc:
                self.state.channels.pop(p.channel_key(state.name), None)
                self._emit(ev.ChannelLeft(state.name, f"could not rejoin: {exc}"))
        self._emit(ev.Reconnected(attempts))

    def _route_reply(self, frame: p.Frame) -> bool:
        """Resolve a pending request with a pure reply; True when the frame was one.

        A reply that also changes state (``joined``, ``kicked``, ``topic_changed`` ...)
        goes through the processor first, so the caller's state is up to date when
        its request returns.
        """
        if frame.id is None or not isinstance(frame, _PURE_REPLIES):
            return False
        return self._resolve(frame)

    def _resolve(self, frame: p.Frame) -> bool:
        pending = self._pending.get(frame.id) if frame.id is not None else None
        if pending is None:
            return False
        if isinstance(frame, p.Error):
            pending.error = error_for_code(frame.code, frame.message, frame.retry_after)
        else:
            pending.frame = frame
        pending.done.set()
        return True

    def _fail_pending(self, error: JustIRCError) -> None:
        for pending in self._pending.values():
            if not pending.done.is_set():
                pending.error = error
                pending.done.set()

    async def _process_loop(self) -> None:
        """Handle non-reply frames in arrival order (decrypting, updating state)."""
        async for frame in self._inbound_recv:
            try:
                await self._process(frame)
            except Exception:
                _log.exception("failed to process a %s frame", frame.type)
            if frame.id is not None:
                self._resolve(frame)

    async def _process(self, frame: p.Frame) -> None:
        if isinstance(frame, p.PrivMsg | p.ChanMsg):
            for event in await self._messaging.receive(frame):
                self._emit(event)
            self.crypto.maybe_save(anyio.current_time())
            return
        if isinstance(frame, p.Error):
            self._emit(ev.ErrorReceived(frame.code, frame.message))
            return
        if isinstance(frame, p.Bye):
            _log.info("server says bye: %s", frame.reason)
            return
        for event in self.state.handle(frame):
            self._messaging.on_membership(event)
            if isinstance(event, ev.NickChanged) and self.state.is_me(event.new):
                await self._renamed(event.new)
            self._emit(event)

    async def _request(self, frame: p.Frame, *, timeout: float | None = None) -> p.Frame:
        """Send *frame* with a fresh id and return the server's reply to it.

        Error replies are raised as typed :class:`ServerError` subclasses.
        """
        rid, pending = await self._send_request(frame)
        return await self._await_reply(rid, pending, frame.type, timeout)

    async def _send_request(self, frame: p.Frame) -> tuple[str, _Pending]:
        """Send *frame* with a fresh id; the reply is collected by :meth:`_await_reply`."""
        transport = self._transport
        if transport is None or self._closing:
            raise NotConnected(
                "not connected: the session is closed"
                if self._closing
                else "not connected: the session is reconnecting; try again shortly"
            )
        rid = f"r{next(self._ids)}"
        pending = _Pending()
        self._pending[rid] = pending
        try:
            await transport.send(dataclasses.replace(frame, id=rid))
        except BaseException:
            self._pending.pop(rid, None)
            raise
        return rid, pending

    async def _await_reply(
        self, rid: str, pending: _Pending, what: str, timeout: float | None = None
    ) -> p.Frame:
        """Wait for the reply to a request sent by :meth:`_send_request`."""
        try:
            with anyio.move_on_after(timeout or self.request_timeout):
                await pending.done.wait()
        finally:
            self._pending.pop(rid, None)
        if pending.error is not None:
            raise pending.error
        if pending.frame is None:
            raise RequestTimeout(f"the server did not answer {what!r} in time")
        return pending.frame

    async def _request_retrying(self, frame: p.Frame, attempts: int = 5) -> p.Frame:
        """Like :meth:`_request`, waiting out ``rate_limited`` refusals a few times."""
        for _ in range(attempts - 1):
            try:
                return await self._request(frame)
            except RateLimited as exc:
                await anyio.sleep(exc.retry_after)
        return await self._request(frame)

    async def send_frame(self, frame: p.Frame) -> None:
        """Send a frame without waiting for a reply (for protocol-level tools)."""
        transport = self._transport
        if transport is None or self._closing:
            raise NotConnected("not connected")
        await transport.send(frame)
