"""JustIRC wire protocol v1: the single definition of every frame (sans-IO).

Frames are one UTF-8 JSON object per line (a message's payload may follow its line as a
binary body). Use :func:`encode` to turn a frame into
bytes and :class:`FrameDecoder` to turn received bytes back into typed frames.
See ``docs/PROTOCOL.md``.
"""

from __future__ import annotations

from .codec import FrameDecoder, decode_frame, encode, encode_dict, frame_from_dict, parse_line
from .codes import ErrorCode
from .errors import ProtocolError
from .frames import *  # noqa: F403 - the frame classes are this package's surface
from .frames import FRAME_TYPES, MESSAGE_KINDS, ROLES, Frame
from .frames import __all__ as _frames_all
from .limits import (
    DEFAULT_MAX_FRAME,
    MAX_BINARY,
    MAX_BUNDLE,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    Limits,
    channel_key,
    is_reserved_nick,
    is_valid_channel,
    is_valid_nick,
    nick_key,
)

__all__ = [
    "DEFAULT_MAX_FRAME",
    "FRAME_TYPES",
    "MAX_BINARY",
    "MAX_BUNDLE",
    "MAX_PAYLOAD",
    "MESSAGE_KINDS",
    "PROTOCOL_VERSION",
    "ROLES",
    "ErrorCode",
    "Frame",
    "FrameDecoder",
    "Limits",
    "ProtocolError",
    "channel_key",
    "decode_frame",
    "encode",
    "encode_dict",
    "frame_from_dict",
    "is_reserved_nick",
    "is_valid_channel",
    "is_valid_nick",
    "nick_key",
    "parse_line",
    *_frames_all,
]
