"""An asyncio load generator speaking JustIRC (JSON lines) and IRC with one workload.

Every server gets the same thing: N clients in one channel; senders write messages whose
opaque payload is as long as a real encrypted channel message and starts with the send
time (``Zq<hex monotonic ns>Z``); receivers count deliveries and, on a few evenly spaced
"probe" clients, compute latency from that time stamp. Senders pace themselves on a ping
after every batch, with a bounded number of batches outstanding.

The receive path does no per-line parsing: it counts a marker in each chunk of complete
lines and runs C-level regexes for time stamps and ping tokens, so one Python process can
keep up with millions of deliveries.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

__all__ = [
    "DIALECTS",
    "Client",
    "Dialect",
    "Swarm",
    "encrypted_payload_length",
    "make_payload",
    "new_loop",
]

_STAMP = re.compile(rb"Zq([0-9a-f]+)Z")
_TOKEN = re.compile(rb"bk(\d+)x")


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when installed (the load generator must not be the bottleneck)."""
    try:
        import uvloop  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def encrypted_payload_length(text_len: int = 200) -> int:
    """Length of the base64 payload the real SDK produces for a *text_len*-character message."""
    from justirc_sdk._messaging import _text_body
    from justirc_sdk.crypto import CryptoEngine

    alice, bob = CryptoEngine.create("alice"), CryptoEngine.create("bobby")
    alice.add_bundle(bob.nick, bob.bundle())
    bob.add_bundle(alice.nick, alice.bundle())
    alice.channel_prepare_send("#bench", [bob.nick])
    return len(alice.encrypt_channel("#bench", _text_body("x" * text_len, False)))


def make_payload(length: int, now_ns: int | None = None) -> bytes:
    """An opaque base64-alphabet payload of *length* bytes carrying a send time stamp."""
    stamp = b"Zq%xZ" % (time.monotonic_ns() if now_ns is None else now_ns)
    return stamp + b"A" * max(0, length - len(stamp))


@dataclass(frozen=True)
class Dialect:
    """How one protocol says the few things the workload needs."""

    name: str
    register: Callable[[str], bytes]
    join: Callable[[str, str], bytes]
    message: Callable[[str, bytes], bytes]
    ping: Callable[[int], bytes]
    registered: bytes
    """Marker of a completed registration."""
    joined: bytes
    """Marker of a completed join."""
    delivery: bytes
    """Marker counted once per delivered channel message."""
    server_ping: bytes
    error: bytes


def _j_message(channel: str, payload: bytes) -> bytes:
    return b'{"type":"chanmsg","channel":"%s","payload":"%s"}\n' % (channel.encode(), payload)


JUSTIRC = Dialect(
    name="justirc",
    register=lambda nick: (
        b'{"type":"hello","version":1,"client":"bench"}\n'
        b'{"type":"register","nick":"%s"}\n' % nick.encode()
    ),
    join=lambda nick, ch: b'{"type":"join","channel":"%s"}\n' % ch.encode(),
    message=_j_message,
    ping=lambda n: b'{"type":"ping","token":"bk%dx"}\n' % n,
    registered=b'"type":"registered"',
    joined=b'"type":"joined"',
    delivery=b'{"type":"chanmsg"',
    server_ping=b'"type":"ping"',
    error=b'"type":"error"',
)

IRC = Dialect(
    name="irc",
    register=lambda nick: b"NICK %s\r\nUSER %s 0 * :bench\r\n" % (nick.encode(), nick.encode()),
    join=lambda nick, ch: b"JOIN %s\r\n" % ch.encode(),
    message=lambda ch, payload: b"PRIVMSG %s :%s\r\n" % (ch.encode(), payload),
    ping=lambda n: b"PING :bk%dx\r\n" % n,
    registered=b" 001 ",
    joined=b" 366 ",
    delivery=b" PRIVMSG #",
    server_ping=b"PING ",
    error=b"ERROR ",
)

DIALECTS = {"justirc": JUSTIRC, "irc": IRC}


@dataclass
class Swarm:
    """Shared counters of every client in one run."""

    expected: int = 0
    delivered: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    lost: int = 0
    """Connections that closed before the run ended."""

    def add(self, n: int) -> None:
        self.delivered += n
        if self.expected and self.delivered >= self.expected:
            self.done.set()


class Client(asyncio.Protocol):
    """One connection: registers, optionally joins, then counts and answers."""

    def __init__(self, dialect: Dialect, nick: str, swarm: Swarm, *, probe: bool = False) -> None:
        self.dialect = dialect
        self.nick = nick
        self.swarm = swarm
        self.probe = probe
        self.transport: asyncio.Transport | None = None
        self._buf = b""
        self._waiting: tuple[bytes, asyncio.Future[None]] | None = None
        self._handshake = b""
        self.pongs = 0
        self._pong_event = asyncio.Event()
        self.closed = asyncio.Event()
        self.made = asyncio.Event()

    # -- asyncio callbacks ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods
        self.transport = cast(asyncio.Transport, transport)
        self.made.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        self.swarm.lost += 1
        if self._waiting is not None and not self._waiting[1].done():
            tail = self._handshake[-300:].decode(errors="replace")
            self._waiting[1].set_exception(ConnectionError(f"{self.nick}: closed: {tail}"))

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data
        end = buf.rfind(b"\n")
        if end < 0:
            self._buf = buf
            return
        region, self._buf = buf[: end + 1], buf[end + 1 :]
        d = self.dialect
        if self._waiting is not None:
            self._handshake = (self._handshake + region)[-4000:]
            marker, fut = self._waiting
            if marker in region and not fut.done():
                fut.set_result(None)
            elif d.error in region and not fut.done():
                tail = region[region.index(d.error) :][:300].decode(errors="replace")
                fut.set_exception(ConnectionError(f"{self.nick}: {tail}"))
        n = region.count(d.delivery)
        if n:
            self.swarm.add(n)
            if self.probe:
                now = time.monotonic_ns()
                lat = self.swarm.latencies_ms
                for stamp in _STAMP.findall(region):
                    lat.append((now - int(stamp, 16)) / 1e6)
        if b"bk" in region:
            for _ in _TOKEN.finditer(region):
                self.pongs += 1
            self._pong_event.set()
        if d.server_ping in region:
            self._answer_pings(region)

    def _answer_pings(self, region: bytes) -> None:
        assert self.transport is not None
        for line in region.split(b"\n"):
            if self.dialect is IRC and line.startswith(b"PING "):
                self.transport.write(b"PONG " + line[5:].rstrip(b"\r") + b"\r\n")
            elif self.dialect is JUSTIRC and b'"type":"ping"' in line:
                token = re.search(rb'"token":"([^"]*)"', line)
                tok = token.group(1) if token else b""
                self.transport.write(b'{"type":"pong","token":"%s"}\n' % tok)

    # -- actions --------------------------------------------------------------------------

    async def _request(self, data: bytes, marker: bytes, timeout: float) -> None:
        await self.made.wait()  # uvloop calls connection_made on a later loop turn
        assert self.transport is not None
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting = (marker, fut)
        self.transport.write(data)
        try:
            await asyncio.wait_for(fut, timeout)
        finally:
            self._waiting = None

    async def register(self, timeout: float = 60.0) -> None:
        """Say hello and claim the nick; returns once the server confirmed."""
        await self._request(self.dialect.register(self.nick), self.dialect.registered, timeout)

    async def join(self, channel: str, timeout: float = 60.0) -> None:
        """Join *channel*; returns once the server confirmed."""
        await self._request(self.dialect.join(self.nick, channel), self.dialect.joined, timeout)

    def write(self, data: bytes) -> None:
        """Write raw protocol bytes."""
        assert self.transport is not None
        self.transport.write(data)

    async def wait_pongs(self, count: int) -> None:
        """Wait until at least *count* answers to our pings arrived."""
        while self.pongs < count:
            if self.closed.is_set():
                raise ConnectionError(f"{self.nick}: connection closed while pacing")
            self._pong_event.clear()
            await self._pong_event.wait()

    def close(self) -> None:
        """Close the connection (without a polite quit: the bench is over)."""
        if self.transport is not None:
            self.transport.close()


_ids = itertools.count()


async def connect_clients(
    dialect: Dialect,
    port: int,
    count: int,
    swarm: Swarm,
    *,
    channel: str | None = None,
    probes: int = 0,
    prefix: str = "u",
    concurrency: int = 100,
    errors: list[str] | None = None,
    timeout: float = 60.0,
    deadline: float | None = None,
) -> list[Client]:
    """Open *count* registered clients (joined to *channel* when given), *concurrency* at a time.

    Every ``count // probes``-th client is a latency probe. With an *errors* list, a client
    that fails is recorded there and left out instead of failing the whole call. No new
    connection is started after the ``time.monotonic()`` *deadline*.
    """
    loop = asyncio.get_running_loop()
    step = max(1, count // probes) if probes else 0
    clients: list[Client] = []
    sem = asyncio.Semaphore(concurrency)
    run = next(_ids)

    async def one(i: int) -> Client | None:
        async with sem:
            if deadline is not None and time.monotonic() > deadline:
                return None
            nick = f"{prefix}{run % 100}x{i:05d}"
            probe = bool(step) and i % step == step // 2
            client = Client(dialect, nick, swarm, probe=probe)
            try:
                await asyncio.wait_for(
                    loop.create_connection(lambda: client, "127.0.0.1", port), timeout
                )
                await client.register(timeout)
                if channel is not None:
                    await client.join(channel, timeout)
            except (OSError, ConnectionError, asyncio.TimeoutError) as exc:
                client.close()
                if errors is None:
                    raise
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
                return None
            return client

    tasks = [asyncio.ensure_future(one(i)) for i in range(count)]
    try:
        for task in tasks:
            result = await task
            if result is not None:
                clients.append(result)
    except BaseException:
        for task in tasks:
            task.cancel()
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is None:
                done = task.result()
                if done is not None:
                    done.close()
        raise
    return clients
