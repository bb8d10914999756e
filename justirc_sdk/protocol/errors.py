"""The protocol layer's own error: a frame that cannot be accepted."""

from __future__ import annotations

from ..errors import JustIRCError
from .codes import ErrorCode

__all__ = ["ProtocolError"]


class ProtocolError(JustIRCError):
    """A frame was malformed, too large, of an unknown type or invalid.

    ``code`` is the :class:`ErrorCode` a server puts in its ``error`` reply;
    ``request_id`` and ``frame_type`` are recovered from the bad frame when possible so
    the reply can name the request it refuses. ``fatal`` is true when the byte stream
    can no longer be split into frames (a binary body of unknown length): the connection
    must be closed.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        request_id: str | None = None,
        frame_type: str | None = None,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.frame_type = frame_type
        self.fatal = fatal

    def __repr__(self) -> str:
        return f"ProtocolError({self.code.value!r}, {self.message!r})"
