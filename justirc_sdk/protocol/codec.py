"""Sans-IO encoding and decoding of frames: bytes in, typed frames out, and back.

:class:`FrameDecoder` is fed whatever bytes arrive and hands out one frame (or one
:class:`ProtocolError`) per line; a bad line never poisons the lines after it.
"""

from __future__ import annotations

import json
from typing import Any

from ._fields import to_json
from .codes import ErrorCode
from .errors import ProtocolError
from .frames import FRAME_TYPES, Frame
from .limits import DEFAULT_MAX_FRAME

__all__ = [
    "SPLICE_MIN",
    "FrameDecoder",
    "decode_frame",
    "encode",
    "encode_dict",
    "encode_spliced",
    "parse_line",
    "splice_safe",
]

_dumps = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_loads = json.JSONDecoder(parse_constant=_reject_constant).decode


def encode_dict(data: dict[str, Any]) -> bytes:
    """Encode an already-plain JSON object as one line (used by the server's fan-out)."""
    return _dumps(data).encode("ascii") + b"\n"


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


def encode_spliced(envelope: dict[str, Any], payload: str) -> bytes:
    """One frame line: *envelope*'s fields plus ``"payload": payload``, encoded once.

    Opaque payloads (base64, up to 60 KiB for an image chunk) are by far the largest part
    of a frame; when one needs no JSON escaping it is written between quotes as it is
    instead of going through the encoder's scan and copy. The result is equal as JSON to
    ``encode_dict({**envelope, "payload": payload})``.
    """
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
    if type(payload) is str and len(payload) >= SPLICE_MIN:
        del body["payload"]
        return encode_spliced(body, payload)
    return encode_dict(body)


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
    try:
        return cls.from_dict(data)
    except ProtocolError as exc:
        exc.request_id = request_id
        exc.frame_type = type_name
        raise


class FrameDecoder:
    """Incremental line decoder with a per-frame size limit.

    Call :meth:`feed` with received bytes, then :meth:`next_frame` until it returns
    ``None``. A line longer than ``max_frame`` raises ``too_large`` once and is then
    skipped up to its newline, so the stream stays in step.
    """

    __slots__ = ("_buffer", "_discarding", "max_frame")

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._discarding = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as frames (a partial line)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        self._buffer += data

    def next_line(self) -> bytes | None:
        """Return the next complete line (without ``\\n``), or ``None`` if none is buffered."""
        while True:
            end = self._buffer.find(b"\n")
            if self._discarding:
                if end < 0:
                    self._buffer.clear()
                    return None
                del self._buffer[: end + 1]
                self._discarding = False
                continue
            if end < 0:
                if len(self._buffer) >= self.max_frame:
                    self._buffer.clear()
                    self._discarding = True
                    raise ProtocolError(
                        ErrorCode.TOO_LARGE, f"frame exceeds {self.max_frame} bytes"
                    )
                return None
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if end + 1 > self.max_frame:
                raise ProtocolError(ErrorCode.TOO_LARGE, f"frame exceeds {self.max_frame} bytes")
            if line.strip():
                return line
            # blank lines are keepalive noise: skip them

    def next_frame(self) -> Frame | None:
        """Return the next decoded frame, ``None`` when no full line is buffered.

        Raises :class:`ProtocolError` for a line that is not a valid frame; the line is
        consumed, so calling again continues with the next one.
        """
        line = self.next_line()
        return None if line is None else decode_frame(line)
