"""A raw, blocking test client that speaks JustIRC frames over a real socket."""

from __future__ import annotations

import json
import socket
from collections import deque
from typing import Any

from justirc_sdk.protocol import Frame, FrameDecoder, encode, encode_dict

TIMEOUT = 5.0


class Closed(Exception):
    """The server closed the connection."""


class RawClient:
    """Send frames (typed, dicts or raw bytes) and wait for frames by type.

    Server pings are answered automatically unless ``auto_pong`` is False; they are
    counted in :attr:`pings` and not returned by :meth:`recv`.
    """

    def __init__(self, port: int, *, auto_pong: bool = True, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(("127.0.0.1", port))
        self.auto_pong = auto_pong
        self.pings = 0
        self.nick: str | None = None
        self._decoder = FrameDecoder(1 << 20)
        self._frames: deque[dict[str, Any]] = deque()
        self._ids = 0
        self.eof = False

    # -- sending ----------------------------------------------------------------------

    def send(self, frame: Frame | dict[str, Any] | bytes) -> None:
        if isinstance(frame, bytes):
            data = frame
        elif isinstance(frame, dict):
            binary = isinstance(frame.get("payload"), bytes)  # sent as a binary body
            data = encode_dict(frame) if binary else json.dumps(frame).encode() + b"\n"
        else:
            data = encode(frame)
        self.sock.sendall(data)

    def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send *frame* with a fresh id and return the reply carrying that id."""
        self._ids += 1
        rid = f"r{self._ids}"
        self.send({**frame, "id": rid})
        return self.wait(lambda f: f.get("id") == rid)

    # -- receiving --------------------------------------------------------------------

    def _read_more(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.eof = True
            raise Closed("server closed the connection")
        self._decoder.feed(chunk)
        while (frame := self._decoder.next_message()) is not None:  # binary bodies too
            if frame["type"] == "ping" and self.auto_pong:
                self.pings += 1
                self.send({"type": "pong", "token": frame.get("token")})
                continue
            self._frames.append(frame)

    def recv(self) -> dict[str, Any]:
        """The next frame (raises ``socket.timeout`` after TIMEOUT, Closed at EOF)."""
        while not self._frames:
            self._read_more()
        return self._frames.popleft()

    def wait(self, match: Any) -> dict[str, Any]:
        """Skip frames until one satisfies *match* and return it."""
        while True:
            frame = self.recv()
            if match(frame):
                return frame

    def expect(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Skip frames until one of *type_* whose fields equal *fields*."""
        return self.wait(
            lambda f: f["type"] == type_ and all(f.get(k) == v for k, v in fields.items())
        )

    def wait_closed(self) -> list[dict[str, Any]]:
        """Read until the server closes; return every frame received meanwhile."""
        frames: list[dict[str, Any]] = []
        try:
            while True:
                frames.append(self.recv())
        except Closed:
            return frames

    def close(self) -> None:
        self.sock.close()

    # -- conveniences -----------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        return self.request({"type": "hello", "version": 1, "client": "tests"})

    def register(self, nick: str) -> dict[str, Any]:
        reply = self.request({"type": "register", "nick": nick})
        if reply["type"] == "registered":
            self.nick = nick
        return reply

    def join(self, channel: str, **extra: Any) -> dict[str, Any]:
        return self.request({"type": "join", "channel": channel, **extra})
