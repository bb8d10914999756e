"""Sans-IO encoding and decoding of frames: bytes in, typed frames out, and back.

A frame is one line of JSON. A message frame may instead carry its payload as a binary
body: its header line has ``"bin": N`` and no ``payload``, and exactly N raw bytes follow
the newline (attachment chunks go this way, without base64 or a JSON string scan).

:class:`FrameDecoder` is fed whatever bytes arrive and hands out one frame (or one
:class:`ProtocolError`) at a time; a bad frame never poisons the frames after it, except
a header whose ``bin`` is not a length (then nothing after it can be framed: ``fatal``).
"""

from __future__ import annotations

import json
from typing import Any

from ._fields import to_json
from .codes import ErrorCode
from .errors import ProtocolError
from .frames import FRAME_TYPES, Frame
from .limits import DEFAULT_MAX_FRAME, MAX_BINARY

__all__ = [
    "SPLICE_MIN",
    "FrameDecoder",
    "decode_frame",
    "encode",
    "encode_dict",
    "encode_spliced",
    "frame_from_dict",
    "parse_line",
    "splice_safe",
]

_dumps = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_loads = json.JSONDecoder(parse_constant=_reject_constant).decode


def encode_dict(data: dict[str, Any]) -> bytes:
    """Encode a plain JSON object as one frame; a ``bytes`` payload becomes a binary body."""
    payload = data.get("payload")
    if type(payload) is bytes:
        return encode_spliced({k: v for k, v in data.items() if k != "payload"}, payload)
    return _dumps(data).encode("ascii") + b"\n"


_BINARY_TYPES = frozenset({"privmsg", "chanmsg"})
"""The frames whose ``payload`` may come as a binary body."""

_NEEDS_ESCAPE = bytes(range(0x20)) + b'"\\'
"""Bytes JSON must escape inside a string (ASCII control characters, quote, backslash)."""

SPLICE_MIN = 1024
"""Shorter payloads are encoded the ordinary way: for a few hundred bytes the extra
check and join cost more than the JSON encoder's scan."""


def _raw(payload: str) -> bytes | None:
    """*payload* as ASCII bytes when it can sit inside JSON quotes as it is, else None."""
    # isascii() is O(1) on CPython (a flag of the string object); translate() is one C
    # pass over a byte table, several times faster than the JSON encoder's escaping scan
    if not payload.isascii():
        return None
    raw = payload.encode("ascii")
    return raw if len(raw.translate(None, _NEEDS_ESCAPE)) == len(raw) else None


def splice_safe(payload: str) -> bool:
    """True when *payload* can be written inside JSON quotes exactly as it is."""
    return _raw(payload) is not None


def encode_spliced(envelope: dict[str, Any], payload: str | bytes) -> bytes:
    """One frame: *envelope*'s fields plus ``"payload": payload``, encoded once.

    A ``bytes`` payload goes as a binary body after the header line (``"bin": N``).
    A string payload (base64, up to 60 KiB) is by far the largest part of its line;
    when it needs no JSON escaping it is written between quotes as it is instead of
    going through the encoder's scan and copy. The result is equal as JSON to
    ``encode_dict({**envelope, "payload": payload})``.
    """
    if type(payload) is bytes:
        return b"".join((_dumps({**envelope, "bin": len(payload)}).encode("ascii"), b"\n", payload))
    assert isinstance(payload, str)
    raw = _raw(payload) if len(payload) >= SPLICE_MIN else None
    if raw is None:
        return encode_dict({**envelope, "payload": payload})
    head = encode_dict(envelope)  # b'{...}\n' (ASCII, compact)
    key = b',"payload":"' if envelope else b'"payload":"'
    return b"".join((head[:-2], key, raw, b'"}\n'))


def encode(frame: Frame) -> bytes:
    """Encode *frame* as one line of compact JSON ending in ``\\n``; ``None`` fields are omitted."""
    body = {"type": frame.type, **to_json(frame)}
    payload = body.get("payload")
    if type(payload) is bytes or (type(payload) is str and len(payload) >= SPLICE_MIN):
        del body["payload"]
        return encode_spliced(body, payload)
    return _dumps(body).encode("ascii") + b"\n"


def parse_line(line: bytes | str) -> dict[str, Any]:
    """Parse one line into a JSON object with a string ``type``, or raise ``bad_frame``."""
    try:
        text = line.decode("utf-8") if isinstance(line, bytes | bytearray) else line
        data = _loads(text)
    except UnicodeDecodeError:
        raise ProtocolError(ErrorCode.BAD_FRAME, "frame is not valid UTF-8") from None
    except (ValueError, RecursionError):
        raise ProtocolError(ErrorCode.BAD_FRAME, "frame is not valid JSON") from None
    if type(data) is not dict:
        raise ProtocolError(ErrorCode.BAD_FRAME, "frame must be a JSON object")
    if type(data.get("type")) is not str:
        raise ProtocolError(ErrorCode.BAD_FRAME, "frame has no string 'type'")
    return data


def decode_frame(line: bytes | str) -> Frame:
    """Decode one line (without or with its newline) into its typed frame."""
    data = parse_line(line)
    return frame_from_dict(data)


def frame_from_dict(data: dict[str, Any]) -> Frame:
    """Validate a parsed JSON object as the frame its ``type`` names."""
    type_name = data["type"]
    rid = data.get("id")
    request_id = rid if type(rid) is str and len(rid) <= 64 else None
    cls = FRAME_TYPES.get(type_name)
    if cls is None:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            f"unknown frame type {type_name[:40]!r}",
            request_id=request_id,
            frame_type=None,
        )
    if type_name not in _BINARY_TYPES and type(data.get("payload")) is bytes:
        raise ProtocolError(
            ErrorCode.BAD_FRAME,
            f"{type_name!r} frames cannot carry a binary body",
            request_id=request_id,
            frame_type=type_name,
        )
    try:
        return cls.from_dict(data)
    except ProtocolError as exc:
        exc.request_id = request_id
        exc.frame_type = type_name
        raise


class FrameDecoder:
    """Incremental frame decoder with size limits for lines and binary bodies.

    Call :meth:`feed` with received bytes, then :meth:`next_frame` (or
    :meth:`next_message` for the parsed JSON object) until it returns ``None``. A line
    longer than ``max_frame`` raises ``too_large`` once and is then skipped up to its
    newline; a binary body longer than ``max_binary`` raises ``too_large`` and is
    skipped by its announced length, so the stream stays in step either way.
    """

    __slots__ = (
        "_body",
        "_buffer",
        "_dead",
        "_discarding",
        "_header",
        "_skip",
        "max_binary",
        "max_frame",
    )

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, max_binary: int = MAX_BINARY) -> None:
        self.max_frame = max_frame
        self.max_binary = max_binary
        self._buffer = bytearray()
        self._discarding = False
        self._header: dict[str, Any] | None = None  # a header line waiting for its body
        self._body = 0  # length of that body
        self._skip = 0  # bytes of a refused body still to drop
        self._dead = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as frames (a partial frame)."""
        return len(self._buffer) + (1 if self._header is not None or self._skip else 0)

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        if not self._dead:
            self._buffer += data

    def next_line(self) -> bytes | None:
        """Return the next complete line (without ``\\n``), or ``None`` if none is buffered.

        Only for streams without binary bodies; :meth:`next_message` handles both.
        """
        buffer = self._buffer
        while True:
            if self._skip:
                dropped = min(self._skip, len(buffer))
                del buffer[:dropped]
                self._skip -= dropped
                if self._skip:
                    return None
            end = buffer.find(b"\n")
            if self._discarding:
                if end < 0:
                    buffer.clear()
                    return None
                del buffer[: end + 1]
                self._discarding = False
                continue
            if end < 0:
                if len(buffer) >= self.max_frame:
                    buffer.clear()
                    self._discarding = True
                    raise ProtocolError(
                        ErrorCode.TOO_LARGE, f"frame exceeds {self.max_frame} bytes"
                    )
                return None
            line = bytes(buffer[:end])
            del buffer[: end + 1]
            if end + 1 > self.max_frame:
                raise ProtocolError(ErrorCode.TOO_LARGE, f"frame exceeds {self.max_frame} bytes")
            if line.strip():
                return line
            # blank lines are keepalive noise: skip them

    def next_message(self) -> dict[str, Any] | None:
        """The next frame as a JSON object (a binary body as ``bytes`` in ``payload``).

        ``None`` while the frame is incomplete. Raises :class:`ProtocolError` for a frame
        that cannot be parsed; it is consumed, so calling again continues after it.
        """
        if self._header is None:
            line = self.next_line()
            if line is None:
                return None
            data = parse_line(line)
            if "bin" not in data:
                return data
            self._expect_body(data)
        size = self._body
        buffer = self._buffer
        if len(buffer) < size:
            return None
        header, self._header = self._header, None
        assert header is not None
        header["payload"] = bytes(buffer[:size])
        del buffer[:size]
        return header

    def _expect_body(self, data: dict[str, Any]) -> None:
        size = data.pop("bin")
        rid, kind = data.get("id"), data.get("type")
        request_id = rid if type(rid) is str and len(rid) <= 64 else None
        frame_type = kind if type(kind) is str and kind in FRAME_TYPES else None
        if type(size) is not int or size < 1:
            # nothing after this header can be framed: refuse the rest of the stream
            self._dead = True
            self._buffer.clear()
            raise ProtocolError(
                ErrorCode.BAD_FRAME,
                "field 'bin' must be a positive byte count; the stream cannot continue",
                request_id=request_id,
                frame_type=frame_type,
                fatal=True,
            )
        if size > self.max_binary:
            self._skip = size
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"binary body of {size} bytes exceeds {self.max_binary}",
                request_id=request_id,
                frame_type=frame_type,
            )
        if "payload" in data:
            self._skip = size
            raise ProtocolError(
                ErrorCode.BAD_FRAME,
                "a frame carries either a 'payload' field or a binary body, not both",
                request_id=request_id,
                frame_type=frame_type,
            )
        self._header = data
        self._body = size

    def next_frame(self) -> Frame | None:
        """Return the next decoded frame, ``None`` when no whole frame is buffered.

        Raises :class:`ProtocolError` for a frame that is not valid; it is consumed, so
        calling again continues with the next one.
        """
        data = self.next_message()
        return None if data is None else frame_from_dict(data)
