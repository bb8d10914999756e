"""A hostile relay: a real TCP proxy between SDK sessions and the server that attacks frames.

The relay runs an asyncio loop on its own thread (like ``server.embedded.EmbeddedServer``),
so tests on asyncio and trio alike can put it between ``justirc_sdk.Session`` and a real
server. Every frame (a JSON line, with its binary body if it has one) is parsed per
direction and passed through the active :class:`Rule` objects, which can drop, duplicate,
delay, reorder or rewrite it; the test can also inject frames (replays, forgeries) into any
connection. All bytes in both directions are recorded, for the zero-knowledge checks.

Directions: ``"c2s"`` (client to server) and ``"s2c"`` (server to client).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from justirc_sdk.protocol import MAX_BINARY
from justirc_sdk.protocol.codec import encode_dict

__all__ = [
    "Action",
    "Delay",
    "Drop",
    "Duplicate",
    "FlipBit",
    "Gate",
    "Hold",
    "Pass",
    "Relay",
    "RelayConn",
    "Rewrite",
    "Rule",
    "flip_bit",
]

Frame = dict[str, Any]
Match = Callable[["RelayConn", Frame], bool]


def _encode(frame: Frame) -> bytes:
    """A frame dict as the wire carries it (a ``bytes`` payload as a binary body)."""
    return encode_dict(frame)


def flip_bit(value: str | bytes, bit: int) -> str | bytes:
    """Flip bit *bit* (modulo the length) of raw bytes or of the bytes inside base64."""
    raw = bytearray(value if isinstance(value, bytes) else base64.b64decode(value))
    index = bit % (len(raw) * 8)
    raw[index // 8] ^= 1 << (index % 8)
    return bytes(raw) if isinstance(value, bytes) else base64.b64encode(bytes(raw)).decode()


def _parse(line: bytes) -> Frame | None:
    """The JSON object on *line*, or None for anything else (relayed as it is)."""
    try:
        frame = json.loads(line)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


class Action:
    """What a rule does with a matching frame: returns the lines to forward now."""

    def apply(self, conn: RelayConn, direction: str, frame: Frame, line: bytes) -> list[bytes]:
        raise NotImplementedError


class Pass(Action):
    """Forward unchanged (a rule with this action only observes)."""

    def apply(self, conn: RelayConn, direction: str, frame: Frame, line: bytes) -> list[bytes]:
        return [line]


class Drop(Action):
    """Forward nothing."""

    def apply(self, conn: RelayConn, direction: str, frame: Frame, line: bytes) -> list[bytes]:
        return []


@dataclass
class Duplicate(Action):
    """Forward the frame *times* times."""

    times: int = 2

    def apply(self, conn: RelayConn, direction: str, frame: Frame, line: bytes) -> list[bytes]:
        return [line] * self.times


@dataclass
class Delay(Action):
    """Forward the frame *seconds* later (frames behind it overtake it)."""

    seconds: float

    def apply(self, conn: RelayConn, direction: str, frame: Frame, line: bytes) -> list[bytes]:
        conn.relay.loop.call_later(self.seconds, conn.write, direction, line)
        return []


@dataclass
class Hold(Action):
    """Reorder: keep matching frames until *count* are held, then forward them reversed."""

    count: int = 2
    held: list[bytes] = field(default_factory=list)

    def apply(self, conn: RelayConn, direction: str, frame: Frame, line: bytes) -> list[bytes]:
        self.held.append(line)
        if len(self.held) < self.count:
            return []
        out, self.held = list(reversed(self.held)), []
        return out


class Gate(Action):
    """Hold every matching frame until :meth:`release` (thread-safe), then forward them."""

    def __init__(self) -> None:
        self.held: list[tuple[RelayConn, str, bytes]] = []

    def apply(self, conn: RelayConn, direction: str, frame: Frame, line: bytes) -> list[bytes]:
        self.held.append((conn, direction, line))
        return []

    def release(self) -> None:
        """Forward what is held, in arrival order."""
        for conn, direction, line in self.held:
            conn.relay.loop.call_soon_threadsafe(conn.write, direction, line)
        self.held = []


@dataclass
class FlipBit(Action):
    """Flip one bit of an opaque base64 field (``payload`` by default).

    ``bit`` counts from the start of the decoded bytes; negative values count from the end.
    """

    bit: int = -9
    field_name: str = "payload"

    def apply(self, conn: RelayConn, direction: str, frame: Frame, line: bytes) -> list[bytes]:
        value = frame.get(self.field_name)
        if not isinstance(value, str | bytes):
            return [line]
        size = len(value if isinstance(value, bytes) else base64.b64decode(value)) * 8
        bit = self.bit if self.bit >= 0 else size + self.bit
        return [_encode({**frame, self.field_name: flip_bit(value, bit)})]


@dataclass
class Rewrite(Action):
    """Replace the frame by ``fn(frame)`` (a new dict), e.g. a substituted key bundle."""

    fn: Callable[[Frame], Frame]

    def apply(self, conn: RelayConn, direction: str, frame: Frame, line: bytes) -> list[bytes]:
        return [_encode(self.fn(dict(frame)))]


@dataclass
class Rule:
    """Apply *action* to frames of *direction* for which *match* is true.

    ``frame_type`` (optional) narrows the match; ``limit`` caps how many frames the rule
    acts on (then it lets everything through). ``seen`` records the frames it acted on;
    toggle ``enabled`` at any time from the test thread.
    """

    direction: str
    action: Action
    frame_type: str | None = None
    match: Match | None = None
    limit: int | None = None
    enabled: bool = True
    seen: list[Frame] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def wants(self, conn: RelayConn, direction: str, frame: Frame) -> bool:
        if not self.enabled or direction != self.direction:
            return False
        if self.limit is not None and len(self.seen) >= self.limit:
            return False
        if self.frame_type is not None and frame.get("type") != self.frame_type:
            return False
        return self.match is None or self.match(conn, frame)

    def record(self, frame: Frame) -> None:
        with self._cond:
            self.seen.append(frame)
            self._cond.notify_all()

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[Frame]:
        """Block until the rule acted on *count* frames (run it via ``anyio.to_thread``)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.seen) >= count, timeout):
                raise TimeoutError(f"rule saw {len(self.seen)} of {count} frames")
            return list(self.seen)


class RelayConn:
    """One proxied client connection: its nick (once registered) and its frame history."""

    def __init__(self, relay: Relay, number: int) -> None:
        self.relay = relay
        self.number = number
        self.nick: str | None = None
        self.frames: dict[str, list[Frame]] = {"c2s": [], "s2c": []}
        self._writers: dict[str, asyncio.StreamWriter] = {}
        self.closed = False

    def write(self, direction: str, data: bytes) -> None:
        """Send *data* towards the server (``c2s``) or the client (``s2c``); loop thread only."""
        writer = self._writers.get(direction)
        if writer is None or writer.is_closing():
            return
        self.relay._record(direction, data)
        writer.write(data)

    def inject(self, direction: str, frame: Frame | bytes) -> None:
        """Send a frame the other side never sent (thread-safe)."""
        data = frame if isinstance(frame, bytes) else _encode(frame)
        self.relay.loop.call_soon_threadsafe(self.write, direction, data)


class Relay:
    """The proxy: ``with Relay("127.0.0.1", server.port) as relay:`` then connect to
    ``relay.port``."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.rules: list[Rule] = []
        self.conns: list[RelayConn] = []
        self.recorded: dict[str, bytearray] = {"c2s": bytearray(), "s2c": bytearray()}
        self.port = 0
        self.loop: asyncio.AbstractEventLoop
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._lock = threading.Lock()
        self._conn_added = threading.Condition()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- control from the test thread ---------------------------------------------------

    def add(self, rule: Rule) -> Rule:
        """Install *rule* (rules are tried in order; the first that wants a frame acts)."""
        self.rules.append(rule)
        return rule

    def remove(self, rule: Rule) -> None:
        with contextlib.suppress(ValueError):
            self.rules.remove(rule)

    def conn(self, nick: str) -> RelayConn:
        """The live connection registered as *nick* (waits for it briefly)."""
        with self._conn_added:
            found: list[RelayConn] = []

            def lookup() -> bool:
                found[:] = [
                    c
                    for c in self.conns
                    if not c.closed and c.nick is not None and c.nick.lower() == nick.lower()
                ]
                return bool(found)

            if not self._conn_added.wait_for(lookup, 10):
                raise LookupError(f"no relayed connection registered as {nick!r}")
            return found[-1]

    def frames(self, nick: str, direction: str, frame_type: str | None = None) -> list[Frame]:
        """Frames seen on *nick*'s current connection (all types, or one)."""
        frames = list(self.conn(nick).frames[direction])
        return [f for f in frames if frame_type is None or f.get("type") == frame_type]

    def bytes_seen(self) -> bytes:
        """Everything relayed so far, both directions."""
        with self._lock:
            return bytes(self.recorded["c2s"]) + bytes(self.recorded["s2c"])

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Relay:
        self._thread = threading.Thread(target=self._run, name="hostile-relay", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("relay did not start")
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> Relay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._main())
        finally:
            self.loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for conn in self.conns:
                for writer in conn._writers.values():
                    writer.close()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- plumbing -----------------------------------------------------------------------

    def _record(self, direction: str, data: bytes) -> None:
        with self._lock:
            self.recorded[direction] += data

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = RelayConn(self, len(self.conns) + 1)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        conn._writers = {"c2s": up_writer, "s2c": writer}
        with self._conn_added:
            self.conns.append(conn)
            self._conn_added.notify_all()
        pumps = [
            asyncio.ensure_future(self._pump(conn, "c2s", reader)),
            asyncio.ensure_future(self._pump(conn, "s2c", up_reader)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            conn.closed = True
            for w in (writer, up_writer):
                w.close()

    async def _pump(self, conn: RelayConn, direction: str, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    conn.write(direction, exc.partial)
                return
            except asyncio.LimitOverrunError:
                data = await reader.read(65536)
                conn.write(direction, data)
                continue
            except (ConnectionError, OSError):
                return
            frame = _parse(line)
            size = None if frame is None else frame.get("bin")
            if type(size) is int and 0 < size <= MAX_BINARY:  # a binary body follows
                try:
                    body = await reader.readexactly(size)
                except (asyncio.IncompleteReadError, ConnectionError, OSError):
                    return
                assert frame is not None
                del frame["bin"]
                frame["payload"] = body
                line += body
            self._handle(conn, direction, line, frame)
            writer = conn._writers[direction]
            with contextlib.suppress(ConnectionError, OSError):
                await writer.drain()

    def _handle(self, conn: RelayConn, direction: str, line: bytes, frame: Frame | None) -> None:
        if frame is None:
            conn.write(direction, line)
            return
        conn.frames[direction].append(frame)
        if direction == "s2c" and frame.get("type") == "registered":
            with self._conn_added:
                conn.nick = frame.get("nick")
                self._conn_added.notify_all()
        if direction == "s2c" and frame.get("type") == "nick_changed" and frame.get("id"):
            conn.nick = frame.get("new")
        for rule in list(self.rules):
            if rule.wants(conn, direction, frame):
                rule.record(frame)
                for out in rule.action.apply(conn, direction, frame, line):
                    conn.write(direction, out)
                return
        conn.write(direction, line)
