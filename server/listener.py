"""The asyncio I/O shell: accepts TCP connections, feeds the router, writes its output.

Uses ``asyncio.Protocol`` directly (no stream objects) because fan-out is the hot path:
bytes from the router are queued per connection and flushed once per loop turn with a
single ``transport.write``. The transport's write buffer is the bounded outbound queue:
a connection whose unsent bytes exceed ``max_outbound`` gets ``bye`` (``slow_consumer``)
and is closed, while everyone else carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from justirc_sdk.protocol import Bye, ErrorCode, FrameDecoder, Ping, ProtocolError, encode

from .channels import ChannelRegistry
from .config import ServerConfig, is_loopback_host
from .errors import ConfigError
from .router import Router
from .routing import Output
from .store import Store

__all__ = ["JustIRCServer"]

_log = logging.getLogger(__name__)


class _Connection(asyncio.Protocol):
    """One client connection: decode, route, queue, flush."""

    def __init__(self, server: JustIRCServer, conn: int) -> None:
        self.server = server
        self.conn = conn
        self.decoder = FrameDecoder(server.config.max_frame)
        self.transport: asyncio.Transport | None = None
        self.pending: list[bytes] = []
        self.queued = False
        self.closing = False
        self.last_rx = 0.0
        self.ping_sent: float | None = None

    # -- asyncio callbacks --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.last_rx = self.server.loop.time()
        self.server.connections[self.conn] = self
        peer = transport.get_extra_info("peername")
        _log.debug("conn %d: connected from %s", self.conn, peer and peer[0])
        self.server.apply(self.server.router.connected(self.conn))

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.last_rx = self.server.loop.time()
        self.ping_sent = None
        router = self.server.router
        self.decoder.feed(data)
        while not self.closing:
            try:
                frame = self.decoder.next_frame()
            except ProtocolError as exc:
                self.server.apply(router.protocol_error(self.conn, exc))
                continue
            if frame is None:
                break
            try:
                out = router.handle(self.conn, frame)
            except Exception:  # a server bug: keep serving everyone else
                _log.exception("conn %d: internal error handling %s", self.conn, frame.type)
                out = router.close(self.conn, "internal server error", ErrorCode.INTERNAL)
            self.server.apply(out)

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.connections.pop(self.conn, None)
        _log.debug("conn %d: closed", self.conn)
        reason = "connection lost" if exc is not None else "connection closed"
        self.server.apply(self.server.router.disconnected(self.conn, reason))
        self.server.connection_gone()

    # -- output -------------------------------------------------------------------------

    def queue(self, data: bytes) -> None:
        if self.closing:
            return
        self.pending.append(data)
        if not self.queued:
            self.queued = True
            self.server.mark_dirty(self)

    def flush(self) -> None:
        self.queued = False
        if self.closing or not self.pending or self.transport is None:
            self.pending.clear()
            return
        data = b"".join(self.pending) if len(self.pending) > 1 else self.pending[0]
        self.pending.clear()
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > self.server.config.max_outbound:
            _log.info("conn %d: slow consumer disconnected", self.conn)
            reason = "too slow to keep up; outbound queue full"
            self.server.apply(self.server.router.close(self.conn, reason, ErrorCode.SLOW_CONSUMER))

    def say_bye(self, reason: str, code: str | None) -> None:
        """Send what is queued plus ``bye``, close, and abort if draining takes too long."""
        if self.closing or self.transport is None:
            return
        self.pending.append(encode(Bye(reason=reason[:300], code=code)))
        self.flush()
        self.closing = True
        transport = self.transport
        transport.close()
        self.server.loop.call_later(self.server.config.close_grace, transport.abort)


class JustIRCServer:
    """One running server: listener, router, store and keepalive, on the current loop."""

    def __init__(self, config: ServerConfig, *, clock: Callable[[], float] = time.time) -> None:
        config.validate()
        if not is_loopback_host(config.host) and not config.allow_insecure:
            raise ConfigError(
                f"refusing plain TCP on non-loopback host {config.host!r}: anyone on the network "
                "could read connection metadata; use a loopback host or pass --allow-insecure"
            )
        self.config = config
        self.clock = clock
        self.connections: dict[int, _Connection] = {}
        self.port = 0
        self._ids = itertools.count(1)
        self._dirty: list[_Connection] = []
        self._flush_scheduled = False
        self._store: Store | None = None
        self._server: asyncio.Server | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._all_gone: asyncio.Event | None = None
        self._stopped = False
        self.router: Router
        self.loop: asyncio.AbstractEventLoop

    @property
    def data_dir(self) -> Path:
        """Where the SQLite store lives."""
        return self.config.data_dir

    async def start(self) -> None:
        """Open the store and start listening (``port`` 0 picks a free port)."""
        self.loop = asyncio.get_running_loop()
        self._store = Store.in_data_dir(self.config.data_dir)
        try:
            registry = ChannelRegistry(self._store)
            self.router = Router(self.config, registry=registry, clock=self.clock)
            self._server = await self.loop.create_server(
                lambda: _Connection(self, next(self._ids)),
                self.config.host,
                self.config.port,
                reuse_address=True,
            )
        except BaseException:
            self._store.close()
            raise
        sockets = self._server.sockets
        self.port = sockets[0].getsockname()[1] if sockets else self.config.port
        self._keepalive = self.loop.create_task(self._keepalive_loop())
        _log.info("listening on %s:%d", self.config.host, self.port)

    @property
    def store(self) -> Store:
        """The open store (for modules that add their own tables)."""
        assert self._store is not None, "server not started"
        return self._store

    # -- output plumbing ----------------------------------------------------------------

    def apply(self, out: Output) -> None:
        """Carry out a router output: queue deliveries, then perform closes."""
        connections = self.connections
        for delivery in out.deliveries:
            data = delivery.data
            for target in delivery.targets:
                connection = connections.get(target)
                if connection is not None:
                    connection.queue(data)
        for close in out.closes:
            connection = connections.get(close.conn)
            if connection is not None:
                connection.say_bye(close.reason, close.code)

    def mark_dirty(self, connection: _Connection) -> None:
        self._dirty.append(connection)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        for connection in dirty:
            connection.flush()

    def connection_gone(self) -> None:
        if self._all_gone is not None and not self.connections:
            self._all_gone.set()

    # -- keepalive ----------------------------------------------------------------------

    async def _keepalive_loop(self) -> None:
        interval, timeout = self.config.ping_interval, self.config.ping_timeout
        tick = max(0.02, min(interval, timeout) / 4)
        while True:
            await asyncio.sleep(tick)
            now = self.loop.time()
            for connection in list(self.connections.values()):
                if connection.closing:
                    continue
                if connection.ping_sent is not None:
                    if now - connection.ping_sent >= timeout:
                        _log.info("conn %d: no answer to ping, dropping", connection.conn)
                        reason = f"no sign of life for {timeout:g} s"
                        out = self.router.close(connection.conn, reason, ErrorCode.TIMEOUT)
                        self.apply(out)
                elif now - connection.last_rx >= interval:
                    connection.ping_sent = now
                    connection.queue(encode(Ping(token=secrets.token_hex(4))))

    # -- shutdown -----------------------------------------------------------------------

    async def stop(self, reason: str = "server shutting down") -> None:
        """Say ``bye`` to everyone, close every connection and the store. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._server is not None:
            self._server.close()
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive
        if self._server is not None:
            self._all_gone = asyncio.Event()
            self.apply(self.router.shutdown(reason))
            if self.connections:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._all_gone.wait(), self.config.close_grace + 1)
            for connection in list(self.connections.values()):
                if connection.transport is not None:
                    connection.transport.abort()
            await asyncio.sleep(0)
        if self._store is not None:
            self._store.close()
        _log.info("stopped")
